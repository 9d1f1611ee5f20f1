//! The SMS port: what the API asks of an SMS-sending provider (Orange today), so that the
//! HTTP layer depends on this trait and not on a provider crate. The server wires the
//! provider's implementation into the provider registry.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::provider::{AppTokenSource, ProviderError, ProviderKind};

/// An SMS to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsRequest {
    /// The recipient in E.164 (`+22507000000`, or `tel:+22507000000`).
    pub to: String,
    pub message: String,
    /// The sender number in E.164; the `sender_address` option when `None`.
    pub sender: Option<String>,
    /// An approved sender name shown instead of the number; the `sender_name` option when
    /// `None`.
    pub sender_name: Option<String>,
}

/// Whether `input` is a phone number in E.164 (`+` then 7 to 15 digits, the first not 0),
/// optionally as a `tel:` URI: what an SMS provider accepts. As a regular expression (the API
/// documentation's): `^(tel:)?\+[1-9][0-9]{6,14}$`.
pub fn is_e164(input: &str) -> bool {
    let number = input.strip_prefix("tel:").unwrap_or(input);
    let digits = number.strip_prefix('+').unwrap_or("");
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

impl SmsRequest {
    /// Refuses, before anything is sent, a request no provider would accept: a recipient or
    /// sender that is not E.164, an empty text.
    pub fn check(&self) -> Result<(), String> {
        if !is_e164(&self.to) {
            return Err(
                "to is not an E.164 phone number: `+` then the country code and number, 7 to 15 \
                 digits, no spaces (e.g. +22507000000)"
                    .to_owned(),
            );
        }
        if self.sender.as_deref().is_some_and(|s| !is_e164(s)) {
            return Err("sender is not an E.164 phone number (e.g. +22507000000)".to_owned());
        }
        if self.message.trim().is_empty() {
            return Err("message is empty".to_owned());
        }
        Ok(())
    }

    pub fn new(to: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            to: to.into(),
            message: message.into(),
            sender: None,
            sender_name: None,
        }
    }
}

/// The character set a text is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    Gsm7,
    Ucs2,
}

/// What Orange accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsSent {
    /// The request id (last segment of `resourceURL`); `None` if Orange named none, which
    /// still means accepted — resending would send twice.
    pub message_id: Option<String>,
    pub resource_url: Option<String>,
    pub encoding: SmsEncoding,
    /// How many SMS Orange sends and bills for this text.
    pub segments: u32,
}

impl SmsSent {
    /// Sent as several concatenated SMS (more than 160 GSM-7 septets or 70 UCS-2 units).
    pub fn is_multipart(&self) -> bool {
        self.segments > 1
    }
}

/// One SMS bundle/contract and what is left on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsContract {
    pub contract_id: Option<String>,
    /// ISO 3166 alpha-3 country code (`CIV`, `SEN`, …).
    pub country: Option<String>,
    /// The offer or service (`SMS_OCB`, …).
    pub service: Option<String>,
    /// SMS units left.
    pub available_units: Option<u64>,
    /// When the bundle expires, as Orange wrote it.
    pub expires: Option<String>,
    /// `expires` when it is an RFC 3339 time.
    pub expires_at: Option<DateTime<Utc>>,
    pub status: Option<String>,
    pub description: Option<String>,
}

/// A provider that sends SMS with an app-level token.
#[async_trait]
pub trait SmsSender: Send + Sync + std::fmt::Debug {
    /// The provider the messages go through.
    fn provider(&self) -> ProviderKind;

    /// Sends one message (split into parts as needed), with a token from `tokens` (renewed
    /// once if the provider reports it expired).
    async fn send_sms(
        &self,
        tokens: &dyn AppTokenSource,
        request: &SmsRequest,
    ) -> Result<SmsSent, ProviderError>;

    /// The SMS contracts of the app and what is left on them.
    async fn balance(&self, tokens: &dyn AppTokenSource)
    -> Result<Vec<SmsContract>, ProviderError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers_are_told_from_anything_else() {
        for good in ["+22507000000", "tel:+2250000", "+123456789012345"] {
            assert!(is_e164(good), "{good}");
        }
        for bad in [
            "",
            "22507000000",
            "+",
            "+0225070000",
            "+225 07 00",
            "+1234567890123456",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn a_request_is_checked_before_sending() {
        assert!(SmsRequest::new("+22507000000", "hello").check().is_ok());
        assert!(SmsRequest::new("0700", "hello").check().is_err());
        assert!(SmsRequest::new("+22507000000", "  ").check().is_err());
        let mut bad_sender = SmsRequest::new("+22507000000", "hello");
        bad_sender.sender = Some("me".into());
        assert!(bad_sender.check().is_err());
    }
}
