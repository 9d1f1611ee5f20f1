//! The OAuth protocol with Notion as the broker drives it: the authorize URL, JSON token
//! requests with HTTP Basic (code, refresh) and the token answers, against a wiremock
//! stand-in for api.notion.com.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::collections::BTreeMap;

use common::{CLIENT_ID, REDIRECT, basic, http, json_body, provider_at, settings};
use serde_json::json;
use tether_broker::oauth;
use tether_core::ScopeSet;
use tether_core::provider::Provider;
use tether_provider_notion::NotionProvider;
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN_ANSWER: &str = r#"{
    "access_token": "ntn_access_1",
    "token_type": "bearer",
    "refresh_token": "nrt_refresh_1",
    "bot_id": "b-1",
    "workspace_id": "w-1",
    "workspace_name": "Acme",
    "workspace_icon": "https://s3.example/icon.png",
    "owner": {"type": "user", "user": {"object": "user", "id": "u-1", "name": "Ada",
              "type": "person", "person": {"email": "ada@acme.test"}}},
    "duplicated_template_id": null,
    "request_id": "req-1"
}"#;

#[test]
fn the_authorize_url_asks_for_a_user_owned_connection_and_no_scopes() {
    let provider = NotionProvider::new(&settings(), reqwest::Client::new()).unwrap();
    let url = oauth::provider_authorize_url(
        &provider,
        &Url::parse(REDIRECT).unwrap(),
        "st4te",
        Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        &provider.default_scopes(),
        Some("ada@acme.test"),
        "n0nce",
    )
    .unwrap();
    assert_eq!(
        url.as_str(),
        format!(
            "https://api.notion.com/v1/oauth/authorize?response_type=code&client_id={CLIENT_ID}\
             &state=st4te\
             &redirect_uri=https%3A%2F%2Ftether.example.com%2Fapi%2Fv1%2Foauth%2Fnotion%2Fcallback\
             &owner=user"
        ),
        "no scope, no PKCE (undocumented at Notion), no login hint, no nonce"
    );
}

#[test]
fn pkce_can_be_switched_on() {
    let mut s = settings();
    s.options.insert("pkce".into(), "true".into());
    let provider = NotionProvider::new(&s, reqwest::Client::new()).unwrap();
    let url = oauth::provider_authorize_url(
        &provider,
        &Url::parse(REDIRECT).unwrap(),
        "st4te",
        Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        &ScopeSet::new(),
        None,
        "n0nce",
    )
    .unwrap();
    let query: BTreeMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        query["code_challenge"],
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    assert_eq!(query["code_challenge_method"], "S256");
}

#[tokio::test]
async fn the_code_exchange_is_a_json_body_with_basic_auth() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .and(header("content-type", "application/json"))
        .and(header("authorization", basic().as_str()))
        .and(header(
            "notion-version",
            tether_provider_notion::DEFAULT_NOTION_VERSION,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string(TOKEN_ANSWER))
        .expect(1)
        .mount(&server)
        .await;
    let provider = provider_at(&server);
    let raw = oauth::exchange_code(
        &provider,
        &http(),
        "c0de",
        None,
        &Url::parse(REDIRECT).unwrap(),
    )
    .await
    .unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        json_body(&requests[0].body),
        json!({"grant_type": "authorization_code", "code": "c0de", "redirect_uri": REDIRECT}),
        "exactly the documented fields; the secret travels only in the Basic header"
    );
    assert_eq!(raw.access_token.expose_secret(), "ntn_access_1");
    assert_eq!(
        raw.refresh_token.as_ref().unwrap().expose_secret(),
        "nrt_refresh_1"
    );
    assert_eq!(raw.token_type, "bearer");
    assert_eq!(raw.expires_in, None, "Notion sends no expires_in");
    assert!(raw.granted_scopes().is_none());
    assert!(
        provider
            .granted_scopes_when_unreported(&ScopeSet::parse_delimited("anything").unwrap())
            .is_empty()
    );
    assert_eq!(raw.extra["workspace_id"], "w-1");
    assert_eq!(raw.extra["bot_id"], "b-1");
}

#[tokio::test]
async fn a_refresh_is_a_json_body_with_basic_auth_and_rotates() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .and(header("content-type", "application/json"))
        .and(header("authorization", basic().as_str()))
        .and(header(
            "notion-version",
            tether_provider_notion::DEFAULT_NOTION_VERSION,
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(
                TOKEN_ANSWER
                    .replace("ntn_access_1", "ntn_access_2")
                    .replace("nrt_refresh_1", "nrt_refresh_2"),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let provider = provider_at(&server);
    assert!(provider.capabilities().rotates_refresh_tokens);
    let raw = oauth::refresh(&provider, &http(), "nrt_refresh_1")
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        json_body(&requests[0].body),
        json!({"grant_type": "refresh_token", "refresh_token": "nrt_refresh_1"})
    );
    assert_eq!(raw.refresh_token.unwrap().expose_secret(), "nrt_refresh_2");
}

#[tokio::test]
async fn an_answer_with_a_null_refresh_token_has_none() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(TOKEN_ANSWER.replace(r#""nrt_refresh_1""#, "null")),
        )
        .mount(&server)
        .await;
    let raw = oauth::exchange_code(
        &provider_at(&server),
        &http(),
        "c0de",
        None,
        &Url::parse(REDIRECT).unwrap(),
    )
    .await
    .unwrap();
    assert!(raw.refresh_token.is_none());
    assert_eq!(raw.access_token.expose_secret(), "ntn_access_1");
}
