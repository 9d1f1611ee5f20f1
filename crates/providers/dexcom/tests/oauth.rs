#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! The OAuth protocol as Tether's broker drives it against Dexcom: the exact authorize URL,
//! the token requests (client secret in the form body), the documented answers and errors.

use std::collections::BTreeMap;
use std::time::Duration;

use tether_broker::ProviderHttp;
use tether_broker::oauth::{exchange_code, provider_authorize_url, refresh};
use tether_core::provider::{Provider, ProviderError, ProviderSettings};
use tether_core::secret::ClientSecret;
use tether_provider_dexcom::DexcomProvider;
use url::Url;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// RFC 7636 appendix B: this verifier's S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn http() -> ProviderHttp {
    ProviderHttp::new(Duration::from_secs(5)).unwrap()
}

fn settings(options: &[(&str, &str)]) -> ProviderSettings {
    let mut s = ProviderSettings::new("dex client", Some(ClientSecret::new("s3cr&t")));
    for (k, v) in options {
        s.options.insert((*k).into(), (*v).into());
    }
    s
}

fn against(server: &MockServer) -> DexcomProvider {
    let mut s = settings(&[]);
    s.endpoints
        .insert("token".into(), format!("{}/v2/oauth2/token", server.uri()));
    s.endpoints.insert("api_base".into(), server.uri());
    DexcomProvider::new(&s, http().client().clone()).unwrap()
}

fn redirect() -> Url {
    Url::parse("https://tether.example.com/api/v1/oauth/dexcom/callback").unwrap()
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

#[test]
fn the_authorize_url_is_exactly_what_dexcom_documents_plus_pkce() {
    let p = DexcomProvider::new(&settings(&[]), reqwest::Client::new()).unwrap();
    let url = provider_authorize_url(
        &p,
        &redirect(),
        "st/ate+1",
        Some(VERIFIER),
        &p.default_scopes(),
        None,
        "nonce-unused",
    )
    .unwrap();
    assert_eq!(
        url.as_str(),
        format!(
            "https://api.dexcom.com/v2/oauth2/login?response_type=code&client_id=dex+client\
             &state=st%2Fate%2B1&code_challenge={CHALLENGE}&code_challenge_method=S256\
             &redirect_uri=https%3A%2F%2Ftether.example.com%2Fapi%2Fv1%2Foauth%2Fdexcom%2Fcallback\
             &scope=offline_access"
        )
    );
}

#[test]
fn pkce_false_leaves_the_challenge_out_and_regions_change_the_host() {
    let p = DexcomProvider::new(
        &settings(&[("pkce", "false"), ("region", "jp")]),
        reqwest::Client::new(),
    )
    .unwrap();
    let url = provider_authorize_url(
        &p,
        &redirect(),
        "s",
        Some(VERIFIER),
        &p.default_scopes(),
        None,
        "n",
    )
    .unwrap();
    assert_eq!(
        url.as_str(),
        "https://api.dexcom.jp/v2/oauth2/login?response_type=code&client_id=dex+client&state=s\
         &redirect_uri=https%3A%2F%2Ftether.example.com%2Fapi%2Fv1%2Foauth%2Fdexcom%2Fcallback\
         &scope=offline_access"
    );
    for (region, host) in [
        ("eu", "https://api.dexcom.eu/"),
        ("sandbox", "https://sandbox-api.dexcom.com/"),
        ("us", "https://api.dexcom.com/"),
    ] {
        let p =
            DexcomProvider::new(&settings(&[("region", region)]), reqwest::Client::new()).unwrap();
        let url =
            provider_authorize_url(&p, &redirect(), "s", None, &p.default_scopes(), None, "n")
                .unwrap();
        assert!(url.as_str().starts_with(host), "{url}");
    }
}

const KEYCLOAK_STYLE_ANSWER: &str = r#"{"access_token":"at-1","expires_in":7200,"refresh_expires_in":0,
    "refresh_token":"rt-2","token_type":"Bearer","not-before-policy":0,"session_state":"abc"}"#;

#[tokio::test]
async fn the_code_exchange_sends_the_secret_in_the_form_body_with_the_verifier() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth2/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_string(KEYCLOAK_STYLE_ANSWER))
        .expect(1)
        .mount(&server)
        .await;
    let p = against(&server);
    let raw = exchange_code(&p, &http(), "the-code", Some(VERIFIER), &redirect())
        .await
        .unwrap();
    assert_eq!(raw.access_token.expose_secret(), "at-1");
    assert_eq!(raw.refresh_token.unwrap().expose_secret(), "rt-2");
    assert_eq!(raw.expires_in, Some(7200), "expires_in is seconds");
    assert_eq!(
        raw.refresh_token_expires_in, None,
        "refresh_expires_in: 0 must not read as an expiry"
    );
    let sent = &server.received_requests().await.unwrap()[0];
    assert!(sent.headers.get("authorization").is_none(), "no Basic auth");
    let body = form(&sent.body);
    let expected: BTreeMap<String, String> = [
        ("grant_type", "authorization_code"),
        ("code", "the-code"),
        ("client_id", "dex client"),
        ("client_secret", "s3cr&t"),
        ("code_verifier", VERIFIER),
        (
            "redirect_uri",
            "https://tether.example.com/api/v1/oauth/dexcom/callback",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(body, expected);
}

#[tokio::test]
async fn a_refresh_sends_the_refresh_token_and_takes_the_rotated_one() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth2/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"access_token":"at-3","expires_in":"7200","refresh_token":"rt-4","token_type":"Bearer"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let p = against(&server);
    let raw = refresh(&p, &http(), "rt-2").await.unwrap();
    assert_eq!(raw.refresh_token.unwrap().expose_secret(), "rt-4");
    assert_eq!(raw.expires_in, Some(7200));
    let sent = &server.received_requests().await.unwrap()[0];
    assert!(sent.headers.get("authorization").is_none());
    let body = form(&sent.body);
    assert_eq!(body.get("refresh_token").map(String::as_str), Some("rt-2"));
    assert_eq!(
        body.get("client_id").map(String::as_str),
        Some("dex client")
    );
    assert_eq!(
        body.get("client_secret").map(String::as_str),
        Some("s3cr&t")
    );
    assert_eq!(body.len(), 4, "{body:?}");
}

async fn token_error(status: u16, body: &str, retry_after: Option<&str>) -> ProviderError {
    let server = MockServer::start().await;
    let mut answer = ResponseTemplate::new(status).set_body_string(body);
    if let Some(wait) = retry_after {
        answer = answer.insert_header("retry-after", wait);
    }
    Mock::given(method("POST"))
        .respond_with(answer)
        .mount(&server)
        .await;
    refresh(&against(&server), &http(), "old-rt")
        .await
        .unwrap_err()
}

#[tokio::test]
async fn token_endpoint_errors_fall_into_the_right_classes() {
    let reused = token_error(
        400,
        r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
        None,
    )
    .await;
    assert!(
        matches!(reused, ProviderError::InvalidGrant { .. }),
        "{reused:?}"
    );
    assert!(reused.to_string().contains("Token is not active"));

    let client = token_error(401, r#"{"error":"invalid_client"}"#, None).await;
    assert!(
        matches!(client, ProviderError::Misconfigured { .. }),
        "{client:?}"
    );

    let limited = token_error(429, "", Some("120")).await;
    assert!(
        matches!(limited, ProviderError::RateLimited { .. }),
        "{limited:?}"
    );
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(120)));

    let down = token_error(503, "<html>maintenance</html>", None).await;
    assert!(
        matches!(
            down,
            ProviderError::Upstream {
                status: Some(503),
                ..
            }
        ),
        "{down:?}"
    );

    let gateway = token_error(401, r#"{"fault":{"faultstring":"Invalid client"}}"#, None).await;
    assert!(
        matches!(gateway, ProviderError::Misconfigured { .. }),
        "{gateway:?}"
    );
    assert!(gateway.to_string().contains("Invalid client"));
}

#[test]
fn there_is_no_revocation_endpoint() {
    let p = DexcomProvider::new(&settings(&[]), reqwest::Client::new()).unwrap();
    assert!(!p.capabilities().revocation);
    assert!(p.endpoints().revocation_url.is_none());
    assert!(p.endpoints().userinfo_url.is_none());
}
