//! The OAuth protocol with Microsoft as the broker drives it: the authorize URL, the token
//! requests (code, refresh) and the token answers, against a wiremock stand-in for
//! login.microsoftonline.com.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::collections::BTreeMap;

use common::{CHALLENGE, REDIRECT, TOKEN_PATH, VERIFIER, form, http, pairs, provider_at, settings};
use tether_broker::oauth;
use tether_core::ScopeSet;
use tether_core::provider::{Provider, ProviderSettings};
use tether_core::secret::ClientSecret;
use tether_provider_microsoft::MicrosoftProvider;
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn the_authorize_url_carries_every_parameter_exactly() {
    let mut s = settings();
    s.options.insert("prompt".into(), "select_account".into());
    s.options.insert("domain_hint".into(), "contoso.com".into());
    let provider = MicrosoftProvider::new(&s, reqwest::Client::new()).unwrap();
    let requested = ScopeSet::parse_delimited("User.Read Calendars.Read").unwrap();
    let url = oauth::provider_authorize_url(
        &provider,
        &Url::parse(REDIRECT).unwrap(),
        "st4te",
        Some(VERIFIER),
        &requested,
        Some("ada@contoso.com"),
        "n0nce",
    )
    .unwrap();
    assert_eq!(
        url.as_str(),
        format!(
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize\
             ?response_type=code&client_id=app-id&state=st4te\
             &code_challenge={CHALLENGE}&code_challenge_method=S256\
             &redirect_uri=https%3A%2F%2Ftether.example.com%2Fapi%2Fv1%2Foauth%2Fmicrosoft%2Fcallback\
             &scope=Calendars.Read+User.Read+offline_access+openid\
             &prompt=select_account&login_hint=ada%40contoso.com&domain_hint=contoso.com\
             &nonce=n0nce"
        )
    );
}

#[test]
fn the_default_tenant_is_common_in_the_authorize_url() {
    let provider = MicrosoftProvider::new(
        &ProviderSettings::new("app-id", Some(ClientSecret::new("s"))),
        reqwest::Client::new(),
    )
    .unwrap();
    let url = oauth::provider_authorize_url(
        &provider,
        &Url::parse(REDIRECT).unwrap(),
        "st4te",
        Some(VERIFIER),
        &provider.default_scopes(),
        None,
        "n0nce",
    )
    .unwrap();
    assert!(
        url.as_str().starts_with(
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?response_type=code&"
        ),
        "{url}"
    );
    let query: BTreeMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        query["scope"],
        "Calendars.Read Files.Read Mail.Read User.Read email offline_access openid profile"
    );
    assert!(!query.contains_key("prompt"));
    assert!(!query.contains_key("login_hint"));
}

#[tokio::test]
async fn the_code_exchange_posts_a_form_with_the_secret_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"token_type":"Bearer","scope":"https://graph.microsoft.com/User.Read https://graph.microsoft.com/Calendars.Read profile","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAi.at","refresh_token":"0.AAAA.rt","id_token":"h.eyJvaWQiOiJvIiwidGlkIjoidCJ9.s"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let provider = provider_at(&server);
    let raw = oauth::exchange_code(
        &provider,
        &http(),
        "M.C-code",
        Some(VERIFIER),
        &Url::parse(REDIRECT).unwrap(),
    )
    .await
    .unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].headers.get("authorization").is_none());
    assert_eq!(
        form(&requests[0].body),
        pairs(&[
            ("grant_type", "authorization_code"),
            ("code", "M.C-code"),
            ("code_verifier", VERIFIER),
            ("redirect_uri", REDIRECT),
            ("client_id", "app-id"),
            ("client_secret", "s3cr~et+/="),
        ])
    );
    assert_eq!(raw.access_token.expose_secret(), "eyJ0eXAi.at");
    assert_eq!(
        raw.refresh_token.as_ref().unwrap().expose_secret(),
        "0.AAAA.rt"
    );
    assert_eq!(raw.expires_in, Some(3599));
    assert_eq!(
        raw.granted_scopes().unwrap().to_delimited(),
        "Calendars.Read User.Read offline_access openid profile"
    );
}

#[tokio::test]
async fn a_refresh_posts_the_refresh_token_and_keeps_the_rotated_one() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"token_type":"Bearer","scope":"https%3A%2F%2Fgraph.microsoft.com%2Fmail.read","expires_in":"4210","access_token":"at2","refresh_token":"rt2"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let provider = provider_at(&server);
    assert!(provider.capabilities().rotates_refresh_tokens);
    let raw = oauth::refresh(&provider, &http(), "rt1").await.unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        form(&requests[0].body),
        pairs(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt1"),
            ("client_id", "app-id"),
            ("client_secret", "s3cr~et+/="),
        ])
    );
    assert_eq!(raw.refresh_token.as_ref().unwrap().expose_secret(), "rt2");
    assert_eq!(raw.expires_in, Some(4210));
    assert_eq!(
        raw.granted_scopes().unwrap().to_delimited(),
        "Mail.Read offline_access",
        "URL-encoded, lower-cased Graph scopes come back in catalogue spelling"
    );
}

#[tokio::test]
async fn answers_without_scope_or_refresh_token_still_parse() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(
                r#"{"token_type":"Bearer","access_token":"at","refresh_token":null}"#,
            ),
        )
        .mount(&server)
        .await;
    let provider = provider_at(&server);
    let raw = oauth::refresh(&provider, &http(), "rt").await.unwrap();
    assert!(raw.refresh_token.is_none());
    assert!(raw.expires_in.is_none());
    assert!(raw.granted_scopes().is_none());
    let requested = ScopeSet::parse_delimited("User.Read Mail.Read").unwrap();
    assert_eq!(
        provider.granted_scopes_when_unreported(&requested),
        requested
    );
}
