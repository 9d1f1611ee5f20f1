//! Sending an SMS: `POST /smsmessaging/v1/outbound/{senderAddress}/requests` with the sender
//! `tel:+…` URL-encoded in the path. Orange answers 201 Created (accepted, not delivered) with
//! a `resourceURL` whose last segment is the request id.

use serde_json::{Value, json};
use tether_core::provider::{AppTokenSource, ProviderError};

use crate::api;
use crate::phone::to_tel_uri;
use crate::provider::OrangeProvider;
use crate::segments::count_segments;
pub use tether_core::sms::{SmsRequest, SmsSent};

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
        let answer = api::with_app_token(tokens, || self.http().post(&url).json(&body)).await?;
        if !answer.is_success() {
            return Err(api::into_error(answer));
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
