//! Scope sets: parsing the space-delimited `scope` parameter (RFC 6749 §3.3) and set logic.

use std::collections::BTreeSet;
use std::fmt;

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub(crate) fn is_valid_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// A set of scope tokens, displayed space-separated in sorted order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Parses one or more space-delimited `scope` values; the error names a malformed token.
    pub(crate) fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        for token in values.into_iter().flat_map(str::split_ascii_whitespace) {
            if !is_valid_scope_token(token) {
                return Err(format!("scope {token:?} is malformed"));
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub(crate) fn is_subset(&self, other: &Self) -> bool {
        self.0.is_subset(&other.0)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_repeated_and_space_separated_values_into_one_set() {
        let scopes = Scopes::parse(["email profile", "items.read", "email"]).unwrap();
        assert_eq!(scopes.to_string(), "email items.read profile");
    }

    #[test]
    fn rejects_quotes_and_backslashes() {
        assert!(Scopes::parse(["a\"b"]).is_err());
        assert!(Scopes::parse(["a\\b"]).is_err());
    }
}
