//! HTTP to providers: the one client construction (timeouts, no redirect following, rustls,
//! a `tether/…` user agent), sending a request with its answer kept whole, and the
//! authenticated JSON GET most identity and test calls are.

use std::time::Duration;

use serde_json::Value;
use tether_core::provider::ProviderError;
use tether_core::secret::AccessToken;

use crate::network::network_error;
use crate::retry_after::{MAX_RETRY_AFTER, retry_after_capped};

/// The HTTP client for provider calls: `timeout` per request, a connect timeout of at most
/// five seconds, and no redirect following (a redirect from a token endpoint must not carry
/// a code or secret elsewhere).
pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tether/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// One provider answer, whatever its status, kept for the caller to read or classify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// The `Location` header (Orange names a sent SMS there).
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body of a success as JSON; a failure classified by `classify(status,
    /// retry_after, body)`; a success that is not JSON is `Upstream`, naming `target`.
    pub fn into_json(
        self,
        target: &str,
        classify: impl FnOnce(u16, Option<Duration>, &[u8]) -> ProviderError,
    ) -> Result<Value, ProviderError> {
        if !self.is_success() {
            return Err(classify(self.status, self.retry_after, &self.body));
        }
        serde_json::from_slice(&self.body).map_err(|_| ProviderError::Upstream {
            status: Some(self.status),
            retry_after: None,
            message: format!("{target} answered with something that is not JSON"),
        })
    }
}

/// Sends `request`; only a transport failure is an error (named `target`), any status is an
/// [`Answer`]. `Retry-After` is capped at an hour.
pub async fn send(target: &str, request: reqwest::RequestBuilder) -> Result<Answer, ProviderError> {
    send_capped(target, request, MAX_RETRY_AFTER).await
}

/// [`send`] with another `Retry-After` cap.
pub async fn send_capped(
    target: &str,
    request: reqwest::RequestBuilder,
    retry_cap: Duration,
) -> Result<Answer, ProviderError> {
    let response = request
        .send()
        .await
        .map_err(|e| network_error(target, &e))?;
    let status = response.status().as_u16();
    let retry_after = retry_after_capped(response.headers(), retry_cap);
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .bytes()
        .await
        .map_err(|e| network_error(target, &e))?
        .to_vec();
    Ok(Answer {
        status,
        retry_after,
        location,
        body,
    })
}

/// `request` with the bearer token and `Accept: application/json`.
pub fn bearer_json(
    request: reqwest::RequestBuilder,
    token: &AccessToken,
) -> reqwest::RequestBuilder {
    request
        .bearer_auth(token.expose_secret())
        .header(reqwest::header::ACCEPT, "application/json")
}

/// An authenticated JSON GET: the answer's JSON, or its failure classified by `classify`.
pub async fn get_json(
    target: &str,
    request: reqwest::RequestBuilder,
    token: &AccessToken,
    classify: impl FnOnce(u16, Option<Duration>, &[u8]) -> ProviderError,
) -> Result<Value, ProviderError> {
    send(target, bearer_json(request, token))
        .await?
        .into_json(target, classify)
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    #[tokio::test]
    async fn redirects_are_not_followed_and_answers_are_kept_whole() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/moved"))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("Location", "https://elsewhere.example/")
                    .insert_header("Retry-After", "12"),
            )
            .mount(&server)
            .await;
        let http = client(Duration::from_secs(5)).unwrap();
        let answer = send("test", http.get(format!("{}/moved", server.uri())))
            .await
            .unwrap();
        assert_eq!(answer.status, 302);
        assert_eq!(
            answer.location.as_deref(),
            Some("https://elsewhere.example/")
        );
        assert_eq!(answer.retry_after, Some(Duration::from_secs(12)));
    }

    #[tokio::test]
    async fn json_gets_carry_the_token_and_classify_failures() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/me"))
            .and(header("authorization", "Bearer tok"))
            .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"id":"1"}"#))
            .mount(&server)
            .await;
        let http = client(Duration::from_secs(5)).unwrap();
        let token = AccessToken::new("tok");
        let ok = get_json(
            "test",
            http.get(format!("{}/me", server.uri())),
            &token,
            |_, _, _| ProviderError::Upstream {
                status: None,
                retry_after: None,
                message: "unexpected".into(),
            },
        )
        .await
        .unwrap();
        assert_eq!(ok["id"], "1");
        let err = get_json(
            "test",
            http.get(format!("{}/other", server.uri())),
            &token,
            |status, _, _| ProviderError::Misconfigured {
                message: format!("HTTP {status}"),
            },
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the provider configuration is wrong: HTTP 404"
        );
    }
}
