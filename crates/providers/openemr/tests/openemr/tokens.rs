//! The token requests (code exchange and refresh) and the parsing of OpenEMR's answers.

use serde_json::json;
use tether_broker::oauth::{exchange_code, refresh};
use tether_core::provider::{Provider, RawTokenResponse};
use tether_provider_openemr::OpenEmrProvider;
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    CLIENT_ID, CLIENT_SECRET, NONCE, forged, form, http, id_token, pairs, provider, serve_keys,
    settings, with_option,
};

fn redirect() -> Url {
    Url::parse("https://tether.example.com/api/v1/oauth/openemr/callback").unwrap()
}

async fn token_endpoint(server: &MockServer, body: serde_json::Value) {
    Mock::given(method("POST"))
        .and(path("/oauth2/default/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

/// OpenEMR's documented answer to a code exchange with SMART context.
fn documented_answer(server: &MockServer) -> serde_json::Value {
    json!({
        "id_token": id_token(server, &json!({"sub": "u-1", "aud": CLIENT_ID, "fhirUser": "Practitioner/9"})),
        "token_type": "Bearer",
        "expires_in": 3600,
        "access_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.access",
        "refresh_token": "def50200refresh",
        "scope": "openid offline_access fhirUser api:fhir user/Patient.rs launch/patient",
        "patient": "96506861-511f-4f6d-bc97-b65a78cf1995",
        "fhirUser": "https://emr.example/apis/default/fhir/Practitioner/9"
    })
}

#[tokio::test]
async fn the_code_exchange_posts_the_secret_in_the_form_with_the_verifier() {
    let server = MockServer::start().await;
    token_endpoint(&server, documented_answer(&server)).await;
    let provider = provider(&server);
    let raw = exchange_code(
        &provider,
        &http(),
        "code-1",
        Some("verifier-1"),
        &redirect(),
    )
    .await
    .unwrap();

    let requests = server.received_requests().await.unwrap();
    let request = &requests[0];
    assert!(
        request.headers.get("authorization").is_none(),
        "client_secret_post sends no Basic"
    );
    assert_eq!(
        form(&request.body),
        pairs(&[
            ("grant_type", "authorization_code"),
            ("code", "code-1"),
            ("code_verifier", "verifier-1"),
            (
                "redirect_uri",
                "https://tether.example.com/api/v1/oauth/openemr/callback"
            ),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
    );

    assert_eq!(
        raw.access_token.expose_secret(),
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.access"
    );
    assert_eq!(
        raw.refresh_token.as_ref().unwrap().expose_secret(),
        "def50200refresh"
    );
    assert_eq!(raw.expires_in, Some(3600));
    let granted = raw.granted_scopes().unwrap().to_delimited();
    assert!(
        granted.contains("user/Patient.rs") && granted.contains("user/Patient.read"),
        "{granted}"
    );
}

#[tokio::test]
async fn the_launch_context_is_captured_from_the_token_answer() {
    let server = MockServer::start().await;
    token_endpoint(&server, documented_answer(&server)).await;
    let provider = provider(&server);
    let raw = exchange_code(&provider, &http(), "code-1", Some("v"), &redirect())
        .await
        .unwrap();
    serve_keys(&server).await;
    assert_eq!(
        provider.launch_context(&raw, Some(NONCE)).await,
        Some(json!({
            "patient": "96506861-511f-4f6d-bc97-b65a78cf1995",
            "fhirUser": "https://emr.example/apis/default/fhir/Practitioner/9"
        }))
    );
}

/// OpenEMR puts `fhirUser` in the ID token only: it reaches the launch context from a
/// verified token; an answer whose token does not verify gives no launch context (a refresh
/// keeps the stored one).
#[tokio::test]
async fn the_launch_context_takes_fhir_user_only_from_a_verified_id_token() {
    let server = MockServer::start().await;
    serve_keys(&server).await;
    let provider = provider(&server);
    let answer = |id_token: String| {
        RawTokenResponse::parse(
            &serde_json::to_vec(&json!({
                "access_token": "at", "token_type": "Bearer", "patient": "p-7", "id_token": id_token
            }))
            .unwrap(),
        )
        .unwrap()
    };
    let signed = id_token(&server, &json!({"fhirUser": "Practitioner/9"}));
    assert_eq!(
        provider
            .launch_context(&answer(signed.clone()), Some(NONCE))
            .await,
        Some(json!({"patient": "p-7", "fhirUser": "Practitioner/9"}))
    );
    // A refresh answer's ID token carries no nonce of a sign-in, and none is compared.
    let refreshed = id_token(
        &server,
        &json!({"fhirUser": "Practitioner/9", "nonce": null}),
    );
    assert_eq!(
        provider.launch_context(&answer(refreshed), None).await,
        Some(json!({"patient": "p-7", "fhirUser": "Practitioner/9"}))
    );
    let forgery = forged(&signed, &json!({"fhirUser": "Practitioner/1"}));
    assert_eq!(
        provider.launch_context(&answer(forgery), Some(NONCE)).await,
        None
    );
}

#[tokio::test]
async fn basic_client_auth_can_be_chosen_for_the_refresh() {
    let server = MockServer::start().await;
    token_endpoint(
        &server,
        json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-2"}),
    )
    .await;
    let settings = with_option(settings(&server), "client_auth", "client_secret_basic");
    let provider = OpenEmrProvider::new(&settings, http().client().clone()).unwrap();
    let raw = refresh(&provider, &http(), "rt-1").await.unwrap();
    assert_eq!(
        raw.refresh_token.unwrap().expose_secret(),
        "rt-2",
        "rotation: the new token is kept"
    );

    let requests = server.received_requests().await.unwrap();
    let authorization = requests[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap();
    // oauth2 form-encodes id and secret before base64 (RFC 6749 §2.3.1).
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode("client-1:s3cr%2Bt%2F%3D%26x");
    assert_eq!(authorization, format!("Basic {expected}"));
    assert_eq!(
        form(&requests[0].body),
        pairs(&[("grant_type", "refresh_token"), ("refresh_token", "rt-1")])
    );
}

#[tokio::test]
async fn the_refresh_posts_the_refresh_token_and_client_credentials_in_the_form() {
    let server = MockServer::start().await;
    token_endpoint(
        &server,
        json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": "3599", "scope": "openid api:fhir"}),
    )
    .await;
    let raw = refresh(&provider(&server), &http(), "rt-1").await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        form(&requests[0].body),
        pairs(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt-1"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
    );
    assert_eq!(raw.expires_in, Some(3599), "a string expires_in is read");
    assert!(
        raw.refresh_token.is_none(),
        "no new refresh token: the broker keeps the old one"
    );
}

#[tokio::test]
async fn an_answer_without_refresh_token_or_scope_still_parses() {
    let server = MockServer::start().await;
    token_endpoint(
        &server,
        json!({"access_token": "at", "token_type": "bearer", "extra": {"x": 1}}),
    )
    .await;
    let raw = exchange_code(&provider(&server), &http(), "c", Some("v"), &redirect())
        .await
        .unwrap();
    assert!(raw.refresh_token.is_none());
    assert!(raw.expires_in.is_none());
    assert!(raw.granted_scopes().is_none());
    assert!(raw.id_token.is_none());
}
