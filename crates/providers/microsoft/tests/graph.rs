//! Identity and the connection test against a wiremock stand-in for Microsoft Graph and
//! Microsoft's key set: the ID token is signed with the committed test key and verified
//! before any of its claims is used.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tether_core::provider::{Provider, ProviderError, ProviderSettings, RawTokenResponse};
use tether_core::secret::{AccessToken, ClientSecret};
use tether_oidc::testing::{KID, jwks, sign};
use tether_provider_microsoft::MicrosoftProvider;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OID: &str = "00000000-0000-0000-66f3-3332eca7ea81";
const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const NONCE: &str = "n0nce-of-this-sign-in";

fn provider_with(server: &MockServer, tenant: Option<&str>) -> MicrosoftProvider {
    let mut s = ProviderSettings::new("app-id", Some(ClientSecret::new("s")));
    s.endpoints
        .insert("api_base".into(), format!("{}/v1.0", server.uri()));
    s.endpoints.insert(
        "jwks".into(),
        format!("{}/discovery/v2.0/keys", server.uri()),
    );
    if let Some(tenant) = tenant {
        s.options.insert("tenant".into(), tenant.into());
    }
    MicrosoftProvider::new(&s, reqwest::Client::new()).unwrap()
}

fn provider_at(server: &MockServer) -> MicrosoftProvider {
    provider_with(server, None)
}

async fn serve_keys(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/discovery/v2.0/keys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks(KID)))
        .mount(server)
        .await;
}

/// The claims of a v2.0 ID token for Ada in tenant `TID`, with `changes` applied.
fn claims(changes: &Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "aud": "app-id", "iss": format!("https://login.microsoftonline.com/{TID}/v2.0"),
        "oid": OID, "tid": TID, "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "preferred_username": "ada@contoso.com", "nonce": NONCE,
        "iat": now, "nbf": now, "exp": now + 3600
    });
    for (k, v) in changes.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims
}

fn answer_with(id_token: &str) -> RawTokenResponse {
    RawTokenResponse::parse(
        json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token})
            .to_string()
            .as_bytes(),
    )
    .unwrap()
}

fn token_answer(claims: &Value) -> RawTokenResponse {
    answer_with(&sign(KID, claims))
}

#[tokio::test]
async fn identity_is_oid_and_tid_with_the_graph_label() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me"))
        .and(query_param(
            "$select",
            "id,displayName,mail,userPrincipalName",
        ))
        .and(header("authorization", "Bearer at"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            "id": OID, "displayName": "Ada Lovelace", "mail": "ada@contoso.com",
            "userPrincipalName": "ada_contoso.com#EXT#@fabrikam.onmicrosoft.com"
        })))
        .expect(1)
        .mount(&server)
        .await;
    serve_keys(&server).await;
    let provider = provider_at(&server);
    let response = token_answer(&claims(&json!({})));
    let identity = provider
        .fetch_identity(&AccessToken::new("at"), &response, Some(NONCE))
        .await
        .unwrap();
    assert_eq!(identity.subject, format!("{OID}:{TID}"));
    assert_eq!(identity.label.as_deref(), Some("ada@contoso.com"));
    assert_eq!(identity.metadata["tenant_id"], TID);
    assert_eq!(identity.metadata["object_id"], OID);
    assert_eq!(identity.metadata["display_name"], "Ada Lovelace");
    assert_eq!(identity.metadata["configured_tenant"], "common");
    assert!(!identity.metadata.to_string().contains("\"at\""));
}

#[tokio::test]
async fn an_answer_without_an_id_token_cannot_be_identified() {
    let server = MockServer::start().await;
    let provider = provider_at(&server);
    let response = RawTokenResponse::parse(br#"{"access_token":"at"}"#).unwrap();
    let err = provider
        .fetch_identity(&AccessToken::new("at"), &response, Some(NONCE))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no ID token"), "{err}");
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "Graph is not called for an account that cannot be named"
    );
}

#[tokio::test]
async fn a_refused_me_call_fails_the_identity() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}
        })))
        .mount(&server)
        .await;
    serve_keys(&server).await;
    let provider = provider_at(&server);
    let err = provider
        .fetch_identity(
            &AccessToken::new("at"),
            &token_answer(&claims(&json!({}))),
            Some(NONCE),
        )
        .await
        .unwrap_err();
    assert!(err.needs_reauth(), "{err:?}");
    assert!(err.to_string().contains("Authorization_RequestDenied"));
}

/// Identity from an ID token that does not verify fails with a message saying why, before
/// Graph is asked anything.
async fn refused(provider: &MicrosoftProvider, server: &MockServer, id_token: &str) -> String {
    let err = provider
        .fetch_identity(&AccessToken::new("at"), &answer_with(id_token), Some(NONCE))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(!text.contains(id_token), "{text}");
    let graph_calls = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().starts_with("/v1.0"))
        .count();
    assert_eq!(
        graph_calls, 0,
        "Graph is not called for an untrusted answer"
    );
    text
}

#[tokio::test]
async fn an_id_token_that_does_not_verify_names_no_account() {
    let server = MockServer::start().await;
    serve_keys(&server).await;
    let provider = provider_at(&server);
    // Someone else's account pasted into a validly signed token's payload.
    let good = sign(KID, &claims(&json!({})));
    let forged_claims = claims(&json!({"oid": "00000000-0000-0000-0000-00000000beef"}));
    let parts: Vec<&str> = good.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(forged_claims.to_string().as_bytes());
    let forged = format!("{}.{payload}.{}", parts[0], parts[2]);
    let text = refused(&provider, &server, &forged).await;
    assert!(text.contains("signature does not verify"), "{text}");
    let another_app = sign(KID, &claims(&json!({"aud": "other-app"})));
    let text = refused(&provider, &server, &another_app).await;
    assert!(text.contains("another client"), "{text}");
    let replayed = sign(KID, &claims(&json!({"nonce": "an-older-sign-in"})));
    let text = refused(&provider, &server, &replayed).await;
    assert!(text.contains("nonce"), "{text}");
    let other_tenant_issuer = sign(
        KID,
        &claims(
            &json!({"iss": "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"}),
        ),
    );
    let text = refused(&provider, &server, &other_tenant_issuer).await;
    assert!(text.contains("issuer"), "{text}");
    let expired = sign(
        KID,
        &claims(&json!({"exp": chrono::Utc::now().timestamp() - 7200})),
    );
    let text = refused(&provider, &server, &expired).await;
    assert!(text.contains("expired"), "{text}");
    let unknown_key = sign("rotated-away", &claims(&json!({})));
    let text = refused(&provider, &server, &unknown_key).await;
    assert!(text.contains("key set"), "{text}");
}

#[tokio::test]
async fn a_tenant_configured_by_id_admits_only_its_own_accounts() {
    let server = MockServer::start().await;
    serve_keys(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": OID})))
        .mount(&server)
        .await;
    let own = provider_with(&server, Some(TID));
    let identity = own
        .fetch_identity(
            &AccessToken::new("at"),
            &token_answer(&claims(&json!({}))),
            Some(NONCE),
        )
        .await
        .unwrap();
    assert_eq!(identity.subject, format!("{OID}:{TID}"));
    let personal = "9188040d-6c67-4c5b-b112-36a304b66dad";
    let guest = token_answer(&claims(&json!({
        "tid": personal, "iss": format!("https://login.microsoftonline.com/{personal}/v2.0")
    })));
    let err = own
        .fetch_identity(&AccessToken::new("at"), &guest, Some(NONCE))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not admit"), "{err}");
}

#[tokio::test]
async fn the_connection_test_reads_me_with_select_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me"))
        .and(query_param("$select", "id"))
        .and(header("authorization", "Bearer at"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": OID})))
        .expect(1)
        .mount(&server)
        .await;
    let report = provider_at(&server)
        .test_connection(&AccessToken::new("at"))
        .await
        .unwrap();
    assert!(report.detail.contains(OID), "{}", report.detail);
}

#[tokio::test]
async fn graph_errors_on_the_connection_test_are_classified() {
    let cases: [(u16, Value, Option<&str>); 3] = [
        (
            401,
            json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired or is not yet valid."}}),
            None,
        ),
        (
            429,
            json!({"error": {"code": "TooManyRequests", "message": "Please retry again later."}}),
            Some("30"),
        ),
        (
            503,
            json!({"error": {"code": "serviceNotAvailable", "message": "Service unavailable"}}),
            Some("5"),
        ),
    ];
    for (status, body, wait) in cases {
        let server = MockServer::start().await;
        let mut answer = ResponseTemplate::new(status).set_body_json(body);
        if let Some(wait) = wait {
            answer = answer.insert_header("retry-after", wait);
        }
        Mock::given(method("GET"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let err = provider_at(&server)
            .test_connection(&AccessToken::new("at"))
            .await
            .unwrap_err();
        match status {
            401 => assert!(matches!(err, ProviderError::InvalidGrant { .. }), "{err:?}"),
            429 => {
                assert!(matches!(err, ProviderError::RateLimited { .. }), "{err:?}");
                assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
            }
            _ => {
                assert!(matches!(
                    err,
                    ProviderError::Upstream {
                        status: Some(503),
                        ..
                    }
                ));
                assert_eq!(err.retry_after(), Some(Duration::from_secs(5)));
            }
        }
    }
}

#[tokio::test]
async fn an_unreachable_graph_is_a_network_error() {
    // A port nobody listens on (wiremock keeps dropped servers alive in a pool).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut s = ProviderSettings::new("app-id", Some(ClientSecret::new("s")));
    s.endpoints
        .insert("api_base".into(), format!("http://127.0.0.1:{port}/v1.0"));
    let provider = MicrosoftProvider::new(&s, reqwest::Client::new()).unwrap();
    let err = provider
        .test_connection(&AccessToken::new("at"))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Network { .. }), "{err:?}");
    assert!(err.is_transient());
}
