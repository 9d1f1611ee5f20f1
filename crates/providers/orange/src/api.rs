//! Calls to Orange's APIs with an app token: send, read the answer, and on "expired token"
//! (401, gateway code 42) ask the token source for a renewed token and send once more.

use tether_core::provider::{AppTokenSource, ProviderError};
use tether_core::secret::AccessToken;
use tether_provider_common::http;

use crate::errors;

/// An answer, kept whole for the caller to read or classify.
pub(crate) use tether_provider_common::Answer;

/// The answer as an error in a core class.
pub(crate) fn into_error(answer: Answer) -> ProviderError {
    errors::classify(answer.status, answer.retry_after, &answer.body)
}

/// Sends one request built for `token`.
pub(crate) async fn execute(
    request: reqwest::RequestBuilder,
    token: &AccessToken,
) -> Result<Answer, ProviderError> {
    http::send("Orange", http::bearer_json(request, token)).await
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
