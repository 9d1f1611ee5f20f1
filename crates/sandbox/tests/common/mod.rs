//! Shared test helpers: a sandbox on port 0 with known clients, PKCE pairs and flow shortcuts.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failed set-up should stop the test with its reason"
)]

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tether_sandbox::{ClientConfig, Sandbox, SandboxConfig, SandboxHandle};

pub const CLIENT_ID: &str = "app";
pub const CLIENT_SECRET: &str = "app-secret";
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
pub const OTHER_ID: &str = "other-app";
pub const OTHER_SECRET: &str = "other-secret";
pub const OTHER_REDIRECT_URI: &str = "http://127.0.0.1:9/other/callback";
pub const PUBLIC_ID: &str = "spa";
pub const SCOPES: &str = "email items.read profile";

pub fn config() -> SandboxConfig {
    SandboxConfig::with_clients([
        ClientConfig::new(CLIENT_ID, CLIENT_SECRET).with_redirect_uris([REDIRECT_URI]),
        ClientConfig::new(OTHER_ID, OTHER_SECRET)
            .with_redirect_uris([OTHER_REDIRECT_URI])
            .with_allowed_scopes(["profile", "reports"]),
        ClientConfig::public(PUBLIC_ID).with_redirect_uris([REDIRECT_URI]),
    ])
}

/// A fresh `(verifier, S256 challenge)` pair.
pub fn pkce() -> (String, String) {
    let verifier = format!("verifier-{}", uuid_like());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{n:040}-{}", std::process::id())
}

/// The query parameters of a redirect's `Location`.
pub fn location_params(response: &Response) -> HashMap<String, String> {
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .expect("a Location header")
        .to_str()
        .unwrap();
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().into_owned().collect()
}

/// A running sandbox and an HTTP client that never follows redirects.
pub struct Tester {
    pub sandbox: SandboxHandle,
    pub http: reqwest::Client,
}

impl Tester {
    pub async fn start() -> Self {
        Self::with(config()).await
    }

    pub async fn with(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::start(config).await.expect("sandbox starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { sandbox, http }
    }

    pub fn url(&self, path: &str) -> String {
        self.sandbox.url(path)
    }

    /// The original authorization parameters of `CLIENT_ID` with `challenge`.
    pub fn authorize_params(challenge: &str) -> Vec<(&'static str, String)> {
        vec![
            ("response_type", "code".into()),
            ("client_id", CLIENT_ID.into()),
            ("redirect_uri", REDIRECT_URI.into()),
            ("state", "xyz-state".into()),
            ("code_challenge", challenge.into()),
            ("code_challenge_method", "S256".into()),
        ]
    }

    /// The one form POST a script sends to complete the consent page.
    pub async fn consent(&self, form: &[(&str, String)]) -> Response {
        self.http
            .post(self.url("/oauth/authorize"))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Allows every scope of `scope` for `username` and returns the code.
    pub async fn code_for(&self, username: &str, scope: &str, challenge: &str) -> String {
        let mut form = Self::authorize_params(challenge);
        form.push(("username", username.into()));
        form.extend(scope.split(' ').map(|s| ("scope", s.to_owned())));
        form.push(("decision", "allow".into()));
        let response = self.consent(&form).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        location_params(&response).remove("code").expect("a code")
    }

    /// POST /oauth/token as `CLIENT_ID` with client_secret_basic.
    pub async fn token(&self, form: &[(&str, &str)]) -> Response {
        self.token_as(CLIENT_ID, CLIENT_SECRET, form).await
    }

    pub async fn token_as(&self, id: &str, secret: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url("/oauth/token"))
            .basic_auth(id, Some(secret))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn exchange(&self, code: &str, verifier: &str) -> Response {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ])
        .await
    }

    /// The whole code flow for `username`; returns the token response body.
    pub async fn login(&self, username: &str, scope: &str) -> Value {
        let (verifier, challenge) = pkce();
        let code = self.code_for(username, scope, &challenge).await;
        let response = self.exchange(&code, &verifier).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    /// POST /oauth/revoke as `CLIENT_ID`.
    pub async fn revoke(&self, token: &str, hint: Option<&str>) -> Response {
        let mut form = vec![("token", token)];
        form.extend(hint.map(|h| ("token_type_hint", h)));
        self.http
            .post(self.url("/oauth/revoke"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, access_token: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }

    pub async fn admin(&self, path: &str, body: Value) -> Response {
        self.http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// The `error` of an RFC 6749 §5.2 error body.
pub async fn error_code(response: Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["error"].as_str().expect("an error field").to_owned()
}

pub fn text(value: &Value) -> &str {
    value.as_str().expect("a string")
}
