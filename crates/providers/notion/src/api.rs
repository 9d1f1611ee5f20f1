//! Authenticated GET calls to the Notion API with the pinned `Notion-Version`, failures
//! classified.

use std::time::Duration;

use serde_json::Value;
use tether_core::provider::ProviderError;
use tether_core::secret::AccessToken;
use url::Url;

use crate::errors::{Origin, classify};

/// GETs `url` with the access token and returns the JSON answer.
pub(crate) async fn get_json(
    http: &reqwest::Client,
    url: &Url,
    notion_version: &str,
    token: &AccessToken,
) -> Result<Value, ProviderError> {
    let response = http
        .get(url.clone())
        .bearer_auth(token.expose_secret())
        .header("Notion-Version", notion_version)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| network(&e))?;
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let body = response.bytes().await.map_err(|e| network(&e))?;
    if !(200..300).contains(&status) {
        return Err(classify(Origin::Api, status, retry_after, &body));
    }
    serde_json::from_slice(&body).map_err(|_| ProviderError::Upstream {
        status: Some(status),
        retry_after: None,
        message: "Notion answered with something that is not JSON".to_owned(),
    })
}

/// Never the URL or the request: only what kind of failure it was.
fn network(e: &reqwest::Error) -> ProviderError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    ProviderError::Network {
        message: format!("Notion API: {kind}"),
    }
}

/// `Retry-After` in seconds (Notion sends whole seconds), capped at an hour.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(3600)))
}
