//! Authenticated GETs to Google APIs with the server's HTTP client, and their answers kept
//! whole (status, `Retry-After`, body) for the caller to read or classify.

use std::time::Duration;

use serde_json::Value;
use tether_core::provider::ProviderError;
use tether_core::secret::AccessToken;
use tether_provider_common::http;

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
    /// read with [`ApiAnswer::into_json`] or inspect first. `Retry-After` is capped at a day
    /// (YouTube's daily quota resets at midnight Pacific time).
    pub async fn get(&self, url: &str, token: &AccessToken) -> Result<ApiAnswer, ProviderError> {
        let request = http::bearer_json(self.http().get(url), token);
        let answer = http::send_capped("Google", request, Duration::from_secs(86_400)).await?;
        Ok(ApiAnswer {
            status: answer.status,
            retry_after: answer.retry_after,
            body: answer.body,
        })
    }
}
