//! Sending an SMS: `POST /smsmessaging/v1/outbound/{senderAddress}/requests` with the sender
//! `tel:+…` URL-encoded in the path. Orange answers 201 Created (accepted, not delivered) with
//! a `resourceURL` whose last segment is the request id.

use serde_json::{Value, json};
use tether_core::provider::{AppTokenSource, ProviderError};

use crate::api;
use crate::phone::to_tel_uri;
use crate::provider::OrangeProvider;
use crate::segments::{SmsEncoding, count_segments};

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

impl SmsRequest {
    pub fn new(to: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            to: to.into(),
            message: message.into(),
            sender: None,
            sender_name: None,
        }
    }
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

fn resource_url(body: &[u8], location: Option<String>) -> Option<String> {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    value
        .as_ref()
        .and_then(|v| {
            v.pointer("/outboundSMSMessageRequest/resourceURL")
                .or_else(|| v.get("resourceURL"))
        })
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or(location)
        .filter(|u| !u.trim().is_empty())
}

fn last_segment(url: &str) -> Option<String> {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty() && !s.contains(':'))
        .map(str::to_owned)
}

impl OrangeProvider {
    /// Sends one SMS. Numbers are checked (E.164) before anything is sent; on an expired
    /// app token the call renews it once and retries once.
    pub async fn send_sms(
        &self,
        tokens: &dyn AppTokenSource,
        request: &SmsRequest,
    ) -> Result<SmsSent, ProviderError> {
        let to = to_tel_uri(&request.to, "recipient")?;
        let sender = request
            .sender
            .as_deref()
            .or(self.default_sender.as_deref())
            .ok_or_else(|| ProviderError::InvalidRequest {
                message: "no sender number: pass one or set the Orange option `sender_address`"
                    .to_owned(),
            })?;
        let sender = to_tel_uri(sender, "sender")?;
        if request.message.trim().is_empty() {
            return Err(ProviderError::InvalidRequest {
                message: "the SMS text is empty".to_owned(),
            });
        }
        let sender_name = request
            .sender_name
            .as_deref()
            .or(self.default_sender_name.as_deref())
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let size = count_segments(&request.message);

        let mut message = json!({
            "address": to,
            "senderAddress": sender,
            "outboundSMSTextMessage": { "message": request.message },
        });
        if let Some(name) = sender_name {
            message["senderName"] = Value::String(name.to_owned());
        }
        let body = json!({ "outboundSMSMessageRequest": message });
        let encoded: String = url::form_urlencoded::byte_serialize(sender.as_bytes()).collect();
        let url = format!(
            "{}/smsmessaging/v1/outbound/{encoded}/requests",
            self.api_base()
        );
        let answer = api::with_app_token(tokens, || self.http.post(&url).json(&body)).await?;
        if !answer.is_success() {
            return Err(answer.into_error());
        }
        let resource_url = resource_url(&answer.body, answer.location);
        Ok(SmsSent {
            message_id: resource_url.as_deref().and_then(last_segment),
            resource_url,
            encoding: size.encoding,
            segments: size.segments,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_the_last_segment_of_the_resource_url() {
        let body = br#"{"outboundSMSMessageRequest":{"resourceURL":"https://api.orange.com/smsmessaging/v1/outbound/tel%3A%2B2250000/requests/req-42"}}"#;
        let url = resource_url(body, None).unwrap();
        assert_eq!(last_segment(&url).as_deref(), Some("req-42"));
        assert_eq!(
            resource_url(b"", Some("https://x/requests/abc".into())).as_deref(),
            Some("https://x/requests/abc")
        );
        assert_eq!(
            resource_url(br#"{"outboundSMSMessageRequest":{}}"#, None),
            None
        );
    }
}
