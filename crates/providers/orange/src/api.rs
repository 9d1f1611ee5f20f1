//! Calls to Orange's APIs with an app token: send, read the answer, and on "expired token"
//! (401, gateway code 42) ask the token source for a renewed token and send once more.

use std::time::Duration;

use tether_core::provider::{AppTokenSource, ProviderError};
use tether_core::secret::AccessToken;

use crate::errors;

/// An answer, kept whole for the caller to read or classify.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The answer as an error in a core class.
    pub(crate) fn into_error(self) -> ProviderError {
        errors::classify(self.status, self.retry_after, &self.body)
    }
}

/// Never echoes the URL or reqwest's message (it includes the URL).
fn network(e: &reqwest::Error) -> ProviderError {
    let message = if e.is_timeout() {
        "the request to Orange timed out"
    } else if e.is_connect() {
        "could not connect to Orange"
    } else {
        "the request to Orange failed"
    };
    ProviderError::Network {
        message: message.to_owned(),
    }
}

/// `Retry-After` in seconds or as an HTTP date, capped at an hour.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let secs = match value.parse::<u64>() {
        Ok(secs) => secs,
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            u64::try_from((at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds())
                .unwrap_or(0)
        }
    };
    Some(Duration::from_secs(secs.min(3600)))
}

/// Sends one request built for `token`.
pub(crate) async fn execute(
    request: reqwest::RequestBuilder,
    token: &AccessToken,
) -> Result<Answer, ProviderError> {
    let response = request
        .bearer_auth(token.expose_secret())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| network(&e))?;
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.bytes().await.map_err(|e| network(&e))?.to_vec();
    Ok(Answer {
        status,
        retry_after,
        location,
        body,
    })
}

/// Sends `build()` with a token from `tokens`; when Orange answers that the token expired,
/// reports it (one renewal however many callers saw it) and sends once more with the
/// renewed token. The second answer is returned whatever it is: no loop.
pub(crate) async fn with_app_token<F>(
    tokens: &dyn AppTokenSource,
    build: F,
) -> Result<Answer, ProviderError>
where
    F: Fn() -> reqwest::RequestBuilder,
{
    let token = tokens.token().await?;
    let answer = execute(build(), &token).await?;
    if !errors::is_expired_token(answer.status, &answer.body) {
        return Ok(answer);
    }
    tracing::debug!("Orange answered that the app token expired; renewing once");
    let renewed = tokens.token_rejected(&token).await?;
    execute(build(), &renewed).await
}
