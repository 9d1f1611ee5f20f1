//! The YouTube provider as the broker drives it: Google's OAuth with YouTube scopes on its
//! own callback path, the exact token and revocation requests, Google's token errors.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::BTreeMap;
use std::time::Duration;

use tether_broker::ProviderHttp;
use tether_broker::oauth::{self, TokenKind};
use tether_core::provider::{Provider, ProviderError, ProviderSettings};
use tether_core::secret::ClientSecret;
use tether_core::{ProviderKind, ScopeSet};
use tether_provider_youtube::YoutubeProvider;
use url::Url;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "987-yt.apps.googleusercontent.com";
const SECRET: &str = "GOCSPX-yt";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0SY4tlWbzAEVMe1RUhzPoZwtbyVQ";
/// BASE64URL(SHA256(VERIFIER)), computed outside Rust.
const CHALLENGE: &str = "uTlfl13Vf5rjz4F0F1Ntzl7OiC7xhTVxq3utTs6tzGo";

fn youtube(server: Option<&MockServer>, options: &[(&str, &str)]) -> YoutubeProvider {
    let mut settings = ProviderSettings::new(CLIENT_ID, Some(ClientSecret::new(SECRET)));
    if let Some(server) = server {
        for (name, at) in [("token", "/token"), ("revocation", "/revoke")] {
            settings
                .endpoints
                .insert(name.into(), format!("{}{at}", server.uri()));
        }
    }
    for (k, v) in options {
        settings.options.insert((*k).into(), (*v).into());
    }
    YoutubeProvider::new(&settings, reqwest::Client::new()).unwrap()
}

fn http() -> ProviderHttp {
    ProviderHttp::new(Duration::from_secs(5)).unwrap()
}

fn redirect() -> Url {
    Url::parse("https://tether.example.com/api/v1/oauth/youtube/callback").unwrap()
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

#[test]
fn youtube_is_its_own_provider_on_googles_endpoints() {
    let provider = youtube(None, &[]);
    assert_eq!(provider.kind(), ProviderKind::Youtube);
    let endpoints = provider.endpoints();
    assert_eq!(endpoints.token_url, "https://oauth2.googleapis.com/token");
    assert_eq!(
        endpoints.api_base_url,
        "https://www.googleapis.com/youtube/v3"
    );
    assert_eq!(
        endpoints.issuer.as_deref(),
        Some("https://accounts.google.com")
    );
    let caps = provider.capabilities();
    assert!(caps.pkce && caps.revocation && !caps.rotates_refresh_tokens);
    assert!(!caps.requires_issuer_parameter);
    assert!(
        youtube(None, &[("require_iss", "true")])
            .capabilities()
            .requires_issuer_parameter
    );
}

#[test]
fn the_authorize_url_carries_youtube_scopes_and_googles_parameters() {
    let provider = youtube(None, &[]);
    let url = oauth::provider_authorize_url(
        &provider,
        &redirect(),
        "st4te",
        Some(VERIFIER),
        &provider.default_scopes(),
        Some("creator@example.com"),
        "n0nce",
    )
    .unwrap();
    assert_eq!(
        url.as_str(),
        format!(
            "https://accounts.google.com/o/oauth2/v2/auth?response_type=code\
             &client_id=987-yt.apps.googleusercontent.com&state=st4te\
             &code_challenge={CHALLENGE}&code_challenge_method=S256\
             &redirect_uri=https%3A%2F%2Ftether.example.com%2Fapi%2Fv1%2Foauth%2Fyoutube%2Fcallback\
             &scope=email+https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fyoutube.readonly+openid\
             &access_type=offline&prompt=consent\
             &login_hint=creator%40example.com&nonce=n0nce"
        )
    );
    let incremental = youtube(None, &[("include_granted_scopes", "true")]);
    let only_upload =
        ScopeSet::parse_delimited("https://www.googleapis.com/auth/youtube.upload").unwrap();
    let url = oauth::provider_authorize_url(
        &incremental,
        &redirect(),
        "s",
        None,
        &only_upload,
        None,
        "n",
    )
    .unwrap();
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["include_granted_scopes"], "true");
    assert_eq!(
        query["scope"], "https://www.googleapis.com/auth/youtube.upload openid",
        "openid is always requested"
    );
}

#[tokio::test]
async fn the_code_exchange_and_refresh_are_googles_form_posts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("client_secret=GOCSPX-yt"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"access_token":"ya29.yt","expires_in":3599,"refresh_token":"1//yt","scope":"https://www.googleapis.com/auth/youtube.readonly openid","token_type":"Bearer"}"#,
            "application/json",
        ))
        .expect(2)
        .mount(&server)
        .await;
    let provider = youtube(Some(&server), &[]);
    let raw = oauth::exchange_code(&provider, &http(), "4/0yt", Some(VERIFIER), &redirect())
        .await
        .unwrap();
    assert_eq!(raw.refresh_token.as_ref().unwrap().expose_secret(), "1//yt");
    assert_eq!(
        raw.granted_scopes().unwrap().to_delimited(),
        "https://www.googleapis.com/auth/youtube.readonly openid"
    );
    oauth::refresh(&provider, &http(), "1//yt").await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let exchange = form(&requests[0].body);
    assert_eq!(exchange["grant_type"], "authorization_code");
    assert_eq!(exchange["code"], "4/0yt");
    assert_eq!(exchange["code_verifier"], VERIFIER);
    assert_eq!(exchange["redirect_uri"], redirect().as_str());
    assert_eq!(exchange["client_id"], CLIENT_ID);
    assert_eq!(exchange.len(), 6);
    let refresh = form(&requests[1].body);
    assert_eq!(refresh["grant_type"], "refresh_token");
    assert_eq!(refresh["refresh_token"], "1//yt");
    assert_eq!(refresh.len(), 4);
}

#[tokio::test]
async fn token_errors_are_googles() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let err = oauth::refresh(&youtube(Some(&server), &[]), &http(), "1//yt")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProviderError::InvalidGrant { message } if message.contains("expired or revoked")),
        "{err:?}"
    );
}

#[tokio::test]
async fn revocation_uses_googles_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    oauth::revoke(
        &youtube(Some(&server), &[]),
        &http(),
        "1//yt",
        TokenKind::Refresh,
    )
    .await
    .unwrap();
    let requests = server.received_requests().await.unwrap();
    let body = form(&requests[0].body);
    assert_eq!(body["token"], "1//yt");
    assert_eq!(body["token_type_hint"], "refresh_token");
}
