//! The HTTP adapter under the `oauth2` crate: sends what oauth2 built with reqwest
//! (provider headers added, Notion's JSON body, the sandbox's plain-HTTP revocation) and keeps
//! the real answer for the provider to classify.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};

/// A failed answer kept for classification.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) retry_after: Option<Duration>,
    pub(super) body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct TransportError(String);

/// Sends what oauth2 built and records the real answer; oauth2 is handed a minimal success
/// so that the provider, not oauth2's typed parser, decides what the answer means.
pub(super) struct Adapter<'a> {
    pub(super) http: &'a reqwest::Client,
    pub(super) json_body: bool,
    /// `(as oauth2 saw it, as it really is)`: see [`revocation_url`].
    pub(super) rewrite: Option<(String, String)>,
    /// The provider's extra headers (Notion's `Notion-Version`).
    pub(super) headers: Vec<(String, String)>,
    pub(super) answer: Mutex<Option<Answer>>,
}

impl<'c> AsyncHttpClient<'c> for Adapter<'_> {
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut request = if self.json_body {
                form_body_to_json(request)?
            } else {
                request
            };
            for (name, value) in &self.headers {
                let (Ok(name), Ok(value)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    http::HeaderValue::from_str(value),
                ) else {
                    return Err(TransportError(format!("invalid header {name}")));
                };
                request.headers_mut().insert(name, value);
            }
            if let Some((seen, real)) = &self.rewrite
                && request.uri().to_string() == *seen
            {
                *request.uri_mut() = real
                    .parse()
                    .map_err(|_| TransportError("bad endpoint URL".to_owned()))?;
            }
            let request = reqwest::Request::try_from(request)
                .map_err(|e| TransportError(e.without_url().to_string()))?;
            let response = self
                .http
                .execute(request)
                .await
                .map_err(|e| TransportError(describe(&e)))?;
            let status = response.status().as_u16();
            let retry_after = parse_retry_after(response.headers());
            let body = response
                .bytes()
                .await
                .map_err(|e| TransportError(describe(&e)))?
                .to_vec();
            if let Ok(mut slot) = self.answer.lock() {
                *slot = Some(Answer {
                    status,
                    retry_after,
                    body,
                });
            }
            http::Response::builder()
                .status(200)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(br#"{"access_token":"-","token_type":"bearer"}"#.to_vec())
                .map_err(|e| TransportError(e.to_string()))
        })
    }
}

/// The transport failure in words that never echo the URL (query strings can carry secrets).
fn describe(e: &reqwest::Error) -> String {
    match tether_provider_common::network_error("the provider", e) {
        tether_core::provider::ProviderError::Network { message } => message,
        other => other.to_string(),
    }
}

/// `Retry-After` as seconds or an HTTP date, capped at an hour.
pub use tether_provider_common::retry_after as parse_retry_after;

/// Notion wants the grant as a JSON body (with HTTP Basic): re-encode the form oauth2 built.
fn form_body_to_json(request: HttpRequest) -> Result<HttpRequest, TransportError> {
    let (mut parts, body) = request.into_parts();
    let map: serde_json::Map<String, serde_json::Value> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
        .collect();
    let json = serde_json::to_vec(&map).map_err(|e| TransportError(e.to_string()))?;
    parts.headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(http::Request::from_parts(parts, json))
}
