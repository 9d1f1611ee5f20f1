//! The Google provider as the broker drives it: the exact authorize URL, the exact token,
//! refresh and revocation requests, and how Google's answers are read and classified.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::BTreeMap;
use std::time::Duration;

use tether_broker::ProviderHttp;
use tether_broker::oauth::{self, TokenKind};
use tether_core::ScopeSet;
use tether_core::provider::{Provider, ProviderError, ProviderSettings};
use tether_core::secret::ClientSecret;
use tether_provider_google::GoogleProvider;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An HTTP status, a body, a `Retry-After` and the expected class.
type Case<B> = (u16, B, Option<&'static str>, fn(&ProviderError) -> bool);

const CLIENT_ID: &str = "123-abc.apps.googleusercontent.com";
const SECRET: &str = "GOCSPX-s3cret";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0SY4tlWbzAEVMe1RUhzPoZwtbyVQ";
/// BASE64URL(SHA256(VERIFIER)), computed outside Rust.
const CHALLENGE: &str = "uTlfl13Vf5rjz4F0F1Ntzl7OiC7xhTVxq3utTs6tzGo";

fn settings(server: Option<&MockServer>, options: &[(&str, &str)]) -> ProviderSettings {
    let mut settings = ProviderSettings::new(CLIENT_ID, Some(ClientSecret::new(SECRET)));
    if let Some(server) = server {
        for (name, path) in [("token", "/token"), ("revocation", "/revoke")] {
            settings
                .endpoints
                .insert(name.into(), format!("{}{path}", server.uri()));
        }
    }
    for (k, v) in options {
        settings.options.insert((*k).into(), (*v).into());
    }
    settings
}

fn google(server: Option<&MockServer>, options: &[(&str, &str)]) -> GoogleProvider {
    GoogleProvider::new(&settings(server, options), reqwest::Client::new()).unwrap()
}

fn http() -> ProviderHttp {
    ProviderHttp::new(Duration::from_secs(5)).unwrap()
}

fn redirect() -> Url {
    Url::parse("https://tether.example.com/api/v1/oauth/google/callback").unwrap()
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn pairs(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn single_request(server: &MockServer) -> wiremock::Request {
    let mut requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "exactly one request");
    requests.remove(0)
}

async fn answer(server: &MockServer, at: &str, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(at))
        .respond_with(response)
        .mount(server)
        .await;
}

#[test]
fn the_authorize_url_asks_for_offline_access_consent_and_incremental_scopes() {
    let provider = google(None, &[]);
    let requested =
        ScopeSet::parse_delimited("https://www.googleapis.com/auth/calendar.readonly").unwrap();
    let url = oauth::provider_authorize_url(
        &provider,
        &redirect(),
        "st4te",
        Some(VERIFIER),
        &requested,
        Some("ada@example.com"),
        "n-0S6_WzA2Mj",
    )
    .unwrap();
    assert_eq!(
        url.as_str(),
        format!(
            "https://accounts.google.com/o/oauth2/v2/auth?response_type=code\
             &client_id=123-abc.apps.googleusercontent.com&state=st4te\
             &code_challenge={CHALLENGE}&code_challenge_method=S256\
             &redirect_uri=https%3A%2F%2Ftether.example.com%2Fapi%2Fv1%2Foauth%2Fgoogle%2Fcallback\
             &scope=email+https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcalendar.readonly+openid\
             &access_type=offline&prompt=consent&include_granted_scopes=true\
             &login_hint=ada%40example.com&nonce=n-0S6_WzA2Mj"
        )
    );
}

#[test]
fn options_turn_off_the_consent_prompt_and_incremental_scopes() {
    let provider = google(None, &[("prompt", ""), ("include_granted_scopes", "false")]);
    let url = oauth::provider_authorize_url(
        &provider,
        &redirect(),
        "s",
        Some(VERIFIER),
        &ScopeSet::new(),
        None,
        "n",
    )
    .unwrap();
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["access_type"], "offline");
    assert_eq!(query["scope"], "email openid");
    for absent in ["prompt", "include_granted_scopes", "login_hint"] {
        assert!(!query.contains_key(absent), "{absent} should not be sent");
    }
}

#[tokio::test]
async fn the_code_exchange_posts_a_form_with_the_client_secret_in_the_body() {
    let server = MockServer::start().await;
    answer(
        &server,
        "/token",
        ResponseTemplate::new(200).set_body_raw(
            r#"{"access_token":"ya29.a0AfB","expires_in":3599,"refresh_token":"1//0gLx","scope":"https://www.googleapis.com/auth/userinfo.email openid https://www.googleapis.com/auth/calendar.readonly","token_type":"Bearer","id_token":"eyJhbGciOiJSUzI1NiJ9.e30.sig"}"#,
            "application/json",
        ),
    )
    .await;
    let provider = google(Some(&server), &[]);
    let raw = oauth::exchange_code(
        &provider,
        &http(),
        "4/0Ab-code",
        Some(VERIFIER),
        &redirect(),
    )
    .await
    .unwrap();

    let request = single_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    assert!(request.headers.get("authorization").is_none());
    assert_eq!(
        form(&request.body),
        pairs(&[
            ("grant_type", "authorization_code"),
            ("code", "4/0Ab-code"),
            ("code_verifier", VERIFIER),
            ("redirect_uri", redirect().as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ])
    );

    assert_eq!(raw.access_token.expose_secret(), "ya29.a0AfB");
    assert_eq!(
        raw.refresh_token.as_ref().unwrap().expose_secret(),
        "1//0gLx"
    );
    assert_eq!(raw.expires_in, Some(3599));
    let granted = raw.granted_scopes().unwrap();
    let wanted =
        ScopeSet::parse_delimited("openid email https://www.googleapis.com/auth/calendar.readonly")
            .unwrap();
    assert!(
        wanted
            .iter()
            .all(|scope| tether_provider_google::grants(&granted, scope)),
        "Google's long name for `email` counts as `email`: {}",
        granted.to_delimited()
    );
}

#[tokio::test]
async fn basic_client_authentication_is_an_option() {
    let server = MockServer::start().await;
    answer(
        &server,
        "/token",
        ResponseTemplate::new(200).set_body_raw(r#"{"access_token":"at"}"#, "application/json"),
    )
    .await;
    let provider = google(Some(&server), &[("client_auth", "basic")]);
    oauth::refresh(&provider, &http(), "1//0gLx").await.unwrap();
    let request = single_request(&server).await;
    // base64("123-abc.apps.googleusercontent.com:GOCSPX-s3cret")
    assert_eq!(
        request.headers.get("authorization").unwrap(),
        "Basic MTIzLWFiYy5hcHBzLmdvb2dsZXVzZXJjb250ZW50LmNvbTpHT0NTUFgtczNjcmV0"
    );
    let body = form(&request.body);
    assert!(!body.contains_key("client_secret"));
    assert_eq!(body["grant_type"], "refresh_token");
    assert_eq!(body["refresh_token"], "1//0gLx");
}

#[tokio::test]
async fn a_refresh_answer_without_a_refresh_token_keeps_none_and_reads_time_limited_access() {
    let server = MockServer::start().await;
    answer(
        &server,
        "/token",
        ResponseTemplate::new(200).set_body_raw(
            r#"{"access_token":"ya29.new","expires_in":"3599","scope":"openid https://www.googleapis.com/auth/tasks","token_type":"Bearer","refresh_token_expires_in":604799}"#,
            "application/json; charset=utf-8",
        ),
    )
    .await;
    let provider = google(Some(&server), &[]);
    let raw = oauth::refresh(&provider, &http(), "1//0gLx").await.unwrap();

    let request = single_request(&server).await;
    assert_eq!(
        form(&request.body),
        pairs(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "1//0gLx"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ])
    );
    assert!(raw.refresh_token.is_none(), "Google does not rotate");
    assert_eq!(raw.expires_in, Some(3599));
    assert_eq!(raw.refresh_token_expires_in, Some(604_799));
    assert_eq!(
        raw.scope.as_deref(),
        Some("openid https://www.googleapis.com/auth/tasks")
    );
}

#[tokio::test]
async fn token_endpoint_errors_fall_into_the_right_classes() {
    let cases: [Case<&str>; 6] = [
        (
            400,
            r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
            None,
            |e| matches!(e, ProviderError::InvalidGrant { message } if message == "invalid_grant: Token has been expired or revoked."),
        ),
        (
            400,
            r#"{"error":"invalid_grant","error_description":"reauth related error (invalid_rapt)","error_uri":"https://support.google.com/a/answer/9368756","error_subtype":"invalid_rapt"}"#,
            None,
            |e| matches!(e, ProviderError::InvalidGrant { message } if message.contains("invalid_rapt")),
        ),
        (
            401,
            r#"{"error":"invalid_client","error_description":"Unauthorized"}"#,
            None,
            |e| matches!(e, ProviderError::Misconfigured { .. }),
        ),
        (
            401,
            r#"{"error":"deleted_client","error_description":"The OAuth client was deleted."}"#,
            None,
            |e| matches!(e, ProviderError::Misconfigured { message } if message.contains("deleted")),
        ),
        (
            503,
            "<html><body>Service Unavailable</body></html>",
            Some("30"),
            |e| matches!(e, ProviderError::Upstream { status: Some(503), retry_after: Some(d), .. } if d.as_secs() == 30),
        ),
        (429, r#"{"error":"rate_limit_exceeded"}"#, None, |e| {
            matches!(e, ProviderError::RateLimited { .. })
        }),
    ];
    for (status, body, retry_after, expected) in cases {
        let server = MockServer::start().await;
        let mut response = ResponseTemplate::new(status).set_body_raw(body, "application/json");
        if let Some(wait) = retry_after {
            response = response.insert_header("retry-after", wait);
        }
        answer(&server, "/token", response).await;
        let provider = google(Some(&server), &[]);
        let err = oauth::refresh(&provider, &http(), "1//0gLx")
            .await
            .unwrap_err();
        assert!(expected(&err), "HTTP {status} {body} became {err:?}");
        assert!(!err.to_string().contains("1//0gLx"), "no token in errors");
    }
}

#[tokio::test]
async fn revocation_posts_the_token_and_treats_an_already_dead_token_as_done() {
    let server = MockServer::start().await;
    answer(&server, "/revoke", ResponseTemplate::new(200)).await;
    let provider = google(Some(&server), &[]);
    assert!(provider.capabilities().revocation);
    oauth::revoke(&provider, &http(), "1//0gLx", TokenKind::Refresh)
        .await
        .unwrap();
    let request = single_request(&server).await;
    assert_eq!(
        request.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        form(&request.body),
        pairs(&[
            ("token", "1//0gLx"),
            ("token_type_hint", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ])
    );

    let gone = MockServer::start().await;
    answer(
        &gone,
        "/revoke",
        ResponseTemplate::new(400).set_body_raw(
            r#"{"error":"invalid_token","error_description":"Token expired or revoked"}"#,
            "application/json",
        ),
    )
    .await;
    let provider = google(Some(&gone), &[]);
    oauth::revoke(&provider, &http(), "ya29.old", TokenKind::Access)
        .await
        .unwrap();

    let down = MockServer::start().await;
    answer(&down, "/revoke", ResponseTemplate::new(500)).await;
    let provider = google(Some(&down), &[]);
    let err = oauth::revoke(&provider, &http(), "ya29.x", TokenKind::Access)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}
