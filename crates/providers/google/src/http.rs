//! Authenticated GETs to Google APIs with the server's HTTP client, and their answers kept
//! whole (status, `Retry-After`, body) for the caller to read or classify.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tether_core::provider::ProviderError;
use tether_core::secret::AccessToken;

use crate::api_error::{ApiFailure, QuotaPolicy};
use crate::auth::GoogleAuth;

/// One API answer, whatever its status.
#[derive(Debug, Clone)]
pub struct ApiAnswer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

impl ApiAnswer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// What went wrong, or `None` for a success.
    pub fn failure(&self) -> Option<ApiFailure> {
        (!self.is_success()).then(|| ApiFailure::parse(self.status, self.retry_after, &self.body))
    }

    /// The JSON body of a success, or the classified failure.
    pub fn into_json(self, quota: &QuotaPolicy) -> Result<Value, ProviderError> {
        if let Some(failure) = self.failure() {
            return Err(failure.classify(quota));
        }
        serde_json::from_slice(&self.body).map_err(|_| ProviderError::Upstream {
            status: Some(self.status),
            retry_after: None,
            message: "Google answered with something that is not JSON".to_owned(),
        })
    }
}

impl GoogleAuth {
    /// An authenticated GET; the answer is returned whatever its status, for the caller to
    /// read with [`ApiAnswer::into_json`] or inspect first.
    pub async fn get(&self, url: &str, token: &AccessToken) -> Result<ApiAnswer, ProviderError> {
        let response = self
            .http()
            .get(url)
            .bearer_auth(token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| network(&e))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let body = response.bytes().await.map_err(|e| network(&e))?.to_vec();
        Ok(ApiAnswer {
            status,
            retry_after,
            body,
        })
    }
}

/// A transport failure, described without the URL (query strings can carry secrets).
fn network(e: &reqwest::Error) -> ProviderError {
    let message = if e.is_timeout() {
        "the request timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "reading the answer failed"
    } else {
        "the request failed"
    };
    ProviderError::Network {
        message: message.to_owned(),
    }
}

/// `Retry-After` as seconds or an HTTP date, capped at a day.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let secs = match value.parse::<u64>() {
        Ok(secs) => secs,
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value).ok()?;
            u64::try_from((at.with_timezone(&Utc) - Utc::now()).num_seconds()).unwrap_or(0)
        }
    };
    Some(Duration::from_secs(secs.min(86_400)))
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    use super::*;

    fn wait(value: &str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        retry_after(&headers)
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_caps_at_a_day() {
        assert_eq!(wait("120"), Some(Duration::from_secs(120)));
        assert_eq!(wait("999999"), Some(Duration::from_secs(86_400)));
        assert_eq!(wait("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let soon = (Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        let secs = wait(&soon).unwrap().as_secs();
        assert!((85..=90).contains(&secs), "{secs}");
        assert_eq!(wait("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
