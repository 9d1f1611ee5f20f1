//! Phone numbers in the E.164 form Orange's API expects (`tel:+<country code><number>`),
//! checked before anything is sent.

use tether_core::provider::ProviderError;

/// The fewest digits a number can have: the shortest national numbers plus a country code.
const MIN_DIGITS: usize = 7;
/// E.164's maximum.
const MAX_DIGITS: usize = 15;

/// `+22507000000` or `tel:+22507000000` → `tel:+22507000000`; anything else is refused with
/// a message naming `what` (recipient, sender) and the expected form.
pub(crate) fn to_tel_uri(input: &str, what: &str) -> Result<String, ProviderError> {
    let number = input.strip_prefix("tel:").unwrap_or(input);
    let digits = number.strip_prefix('+').unwrap_or("");
    let valid = (MIN_DIGITS..=MAX_DIGITS).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(format!("tel:+{digits}"))
    } else {
        let shown: String = input.chars().filter(|c| !c.is_control()).take(24).collect();
        Err(ProviderError::InvalidRequest {
            message: format!(
                "the {what} `{shown}` is not an E.164 phone number: expected `+` then the country code and number, {MIN_DIGITS} to {MAX_DIGITS} digits, no spaces (e.g. +22507000000)"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers_become_tel_uris() {
        assert_eq!(
            to_tel_uri("+22507000000", "recipient").unwrap(),
            "tel:+22507000000"
        );
        assert_eq!(
            to_tel_uri("tel:+2250000", "sender").unwrap(),
            "tel:+2250000"
        );
        assert_eq!(
            to_tel_uri("+123456789012345", "recipient").unwrap(),
            "tel:+123456789012345"
        );
    }

    #[test]
    fn anything_else_is_refused_with_the_expected_form() {
        for bad in [
            "",
            "22507000000",
            "+",
            "+0225070000",
            "+225 07 00 00 00",
            "+225-0700000",
            "+1234567890123456",
            "+123456",
            "tel:22507000000",
            "+２２５０７０００００",
        ] {
            let err = to_tel_uri(bad, "recipient").unwrap_err();
            assert!(
                err.to_string().contains("not an E.164 phone number"),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains("recipient"));
        }
    }
}
