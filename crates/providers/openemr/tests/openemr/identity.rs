//! Who connected: from the token answer when it says, from userinfo otherwise; never with the
//! launch context in the metadata.

use serde_json::json;
use tether_core::provider::{Provider, RawTokenResponse};
use tether_core::secret::AccessToken;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{CLIENT_ID, id_token, provider};

fn answer(body: serde_json::Value) -> RawTokenResponse {
    RawTokenResponse::parse(&serde_json::to_vec(&body).unwrap()).unwrap()
}

#[tokio::test]
async fn the_token_answer_identifies_the_practitioner_without_another_call() {
    let server = MockServer::start().await;
    let provider = provider(&server);
    let raw = answer(json!({
        "access_token": "at",
        "id_token": id_token(&json!({"sub": "u-1", "aud": CLIENT_ID, "preferred_username": "drsmith", "email": "smith@clinic-a.example"})),
        "fhirUser": format!("{}/apis/default/fhir/Practitioner/9f1c", server.uri()),
        "patient": "p-42"
    }));
    let identity = provider
        .fetch_identity(&AccessToken::new("at"), &raw)
        .await
        .unwrap();
    assert_eq!(
        identity.subject,
        format!("{}/apis/default/fhir/Practitioner/9f1c", server.uri())
    );
    assert_eq!(identity.label.as_deref(), Some("drsmith at clinic-a"));
    assert_eq!(
        identity.metadata,
        json!({
            "site": "default",
            "site_url": server.uri(),
            "fhir_base": format!("{}/apis/default/fhir", server.uri()),
        })
    );
    let metadata = identity.metadata.to_string();
    assert!(
        !metadata.contains("p-42") && !metadata.contains("Practitioner"),
        "{metadata}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn without_id_token_or_fhir_user_the_userinfo_endpoint_is_asked() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/oauth2/default/userinfo"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sub": "94b2c0aa-1", "name": "Dr Smith", "email": "smith@clinic-a.example"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let identity = provider(&server)
        .fetch_identity(
            &AccessToken::new("at-1"),
            &answer(json!({"access_token": "at-1"})),
        )
        .await
        .unwrap();
    assert_eq!(
        identity.subject,
        format!("{}/apis/default/fhir#sub:94b2c0aa-1", server.uri())
    );
    assert_eq!(
        identity.label.as_deref(),
        Some("smith@clinic-a.example at clinic-a")
    );
}

#[tokio::test]
async fn the_same_user_on_two_sites_is_two_accounts() {
    let server = MockServer::start().await;
    let raw = answer(json!({"access_token": "at", "fhirUser": "Practitioner/1"}));
    let a = provider(&server)
        .fetch_identity(&AccessToken::new("at"), &raw)
        .await
        .unwrap();
    let mut other = crate::support::settings(&server);
    other
        .options
        .insert("site".to_owned(), "clinic_b".to_owned());
    let b = tether_provider_openemr::OpenEmrProvider::new(
        &other,
        crate::support::http().client().clone(),
    )
    .unwrap()
    .fetch_identity(&AccessToken::new("at"), &raw)
    .await
    .unwrap();
    assert_ne!(a.subject, b.subject);
    assert!(b.subject.contains("/apis/clinic_b/fhir/"), "{}", b.subject);
}

#[tokio::test]
async fn a_rejected_userinfo_call_is_classified() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/oauth2/default/userinfo"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "access_denied"})))
        .mount(&server)
        .await;
    let err = provider(&server)
        .fetch_identity(
            &AccessToken::new("at"),
            &answer(json!({"access_token": "at"})),
        )
        .await
        .unwrap_err();
    assert!(err.needs_reauth(), "{err:?}");
}
