//! One webhook request: a signed POST with the event's JSON, a connect timeout and a total
//! timeout, no redirects followed, no proxy, the destination checked (see [`destination`]),
//! and at most [`ANSWER_LIMIT`] bytes of the answer read, of which a short excerpt is kept
//! as the error of a failed attempt. Nothing of the request (body, secret, URL) goes into an
//! error.
//!
//! [`destination`]: crate::destination

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use url::Url;

use crate::destination::{DestinationPolicy, GuardedResolver};
use crate::signing::{HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, SignedHeaders};

/// The most of an endpoint's answer read.
pub const ANSWER_LIMIT: usize = 4 * 1024;
/// The most of the answer kept in an attempt's error.
const EXCERPT_CHARS: usize = 200;
/// The longest error kept.
const ERROR_CHARS: usize = 500;

/// What one attempt gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The endpoint's status, when it answered.
    pub status_code: Option<u16>,
    pub latency: Duration,
    /// Why it failed (`None` on a 2xx answer).
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    /// An attempt that was not made (a refused destination, an unusable secret).
    pub fn refused(reason: impl Into<String>) -> Self {
        Self {
            status_code: None,
            latency: Duration::ZERO,
            error: Some(limit(&reason.into(), ERROR_CHARS)),
        }
    }
}

/// Sends webhook requests. Cheap to clone (one connection pool).
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: DestinationPolicy,
    timeout: Duration,
}

impl Sender {
    pub fn new(
        policy: DestinationPolicy,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .no_proxy()
            .https_only(!policy.allow_http)
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .user_agent(concat!("Tether-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Self {
            client,
            policy,
            timeout,
        })
    }

    pub fn policy(&self) -> DestinationPolicy {
        self.policy
    }

    /// POSTs `body` to `url` with the signed headers.
    pub async fn post(&self, url: &Url, headers: &SignedHeaders, body: String) -> Attempt {
        if let Err(reason) = self.policy.check_request(url) {
            return Attempt::refused(format!("refused: {reason}"));
        }
        let started = Instant::now();
        let sent = self
            .client
            .post(url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(HEADER_ID, &headers.id)
            .header(HEADER_TIMESTAMP, headers.timestamp.to_string())
            .header(HEADER_SIGNATURE, &headers.signature)
            .body(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => {
                return Attempt {
                    status_code: None,
                    latency: started.elapsed(),
                    error: Some(self.describe(e)),
                };
            }
        };
        let status = response.status();
        let mut answer = Vec::new();
        let mut read_error = None;
        while answer.len() < ANSWER_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = ANSWER_LIMIT - answer.len();
                    answer.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(self.describe(e));
                    break;
                }
            }
        }
        let latency = started.elapsed();
        let error = if status.is_success() {
            None
        } else {
            let mut error = format!("HTTP {}", status.as_u16());
            if status.is_redirection() {
                error.push_str(": redirects are not followed; use the final URL");
            } else {
                let excerpt = limit(&printable(&String::from_utf8_lossy(&answer)), EXCERPT_CHARS);
                if !excerpt.is_empty() {
                    error.push_str(": ");
                    error.push_str(&excerpt);
                }
            }
            Some(error)
        };
        Attempt {
            status_code: Some(status.as_u16()),
            latency,
            // A 2xx whose answer broke off is still a delivery: the endpoint accepted it.
            error: error.or(read_error.filter(|_| !status.is_success())),
        }
    }

    /// A failure in a few words, without the URL (it may carry a credential).
    fn describe(&self, error: reqwest::Error) -> String {
        if error.is_timeout() {
            return format!(
                "timed out (no complete answer within {} s)",
                self.timeout.as_secs_f32()
            );
        }
        let kind = if error.is_connect() {
            "could not connect"
        } else {
            "request failed"
        };
        let error = error.without_url();
        let mut reasons: Vec<String> = Vec::new();
        let mut source: Option<&(dyn std::error::Error + 'static)> =
            std::error::Error::source(&error);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !reasons.iter().any(|r| r.contains(&text)) {
                reasons.push(text);
            }
            source = cause.source();
        }
        let detail = reasons.last().cloned().unwrap_or_else(|| error.to_string());
        limit(&format!("{kind}: {}", printable(&detail)), ERROR_CHARS)
    }
}

fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn limit(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(chars).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_single_line_and_short() {
        assert_eq!(printable("a\r\n  b\tc"), "a b c");
        let long = "x".repeat(300);
        assert_eq!(limit(&long, 200).chars().count(), 201);
        assert_eq!(limit("short", 200), "short");
    }
}
