//! Registering Tether at a site (RFC 7591, as OpenEMR expects it).

use serde_json::{Value, json};
use tether_core::provider::ProviderError;
use tether_provider_openemr::{RegistrationRequest, register};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{http, serve_smart_configuration, smart_configuration};

const CALLBACK: &str = "https://tether.example.com/api/v1/oauth/openemr/callback";

fn request() -> RegistrationRequest {
    let mut request = RegistrationRequest::new("Tether (Clinic A)", CALLBACK);
    request.contacts = vec!["it@clinic-a.example".to_owned()];
    request
}

/// OpenEMR's documented answer.
fn registered(body: &Value) -> Value {
    json!({
        "client_id": "LnjqojEEjFYe5j2Jp9m9UnmuxOnMg4VodEJj3yE8_OA",
        "client_secret": "j21ecvLmFi9HPc_Hv0t7Ptmf1pVcZQLtHjIdU7U9tkS9",
        "registration_access_token": "uiDSXx2GNSvYy5n8eW50aGrJz0HjaGpUdrGf07Agv_Q",
        "registration_client_uri": "https://emr.example/oauth2/default/client/6eUVG0-qK2dYiwfYdECKIw",
        "client_id_issued_at": 1604767861,
        "client_secret_expires_at": 0,
        "contacts": body["contacts"],
        "application_type": "private",
        "client_name": body["client_name"],
        "redirect_uris": body["redirect_uris"],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": body["scope"],
    })
}

async fn registration_endpoint(server: &MockServer, at: &str) {
    Mock::given(method("POST"))
        .and(path(at))
        .and(header("content-type", "application/json"))
        .respond_with(move |request: &wiremock::Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            ResponseTemplate::new(200).set_body_json(registered(&body))
        })
        .expect(1)
        .mount(server)
        .await;
}

fn sent_body(requests: &[wiremock::Request]) -> Value {
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    serde_json::from_slice(&post.body).unwrap()
}

#[tokio::test]
async fn a_confidential_client_is_registered_at_the_discovered_endpoint() {
    let server = MockServer::start().await;
    let mut doc = smart_configuration(&server.uri());
    doc["registration_endpoint"] = format!("{}/oauth2/default/registration2", server.uri()).into();
    serve_smart_configuration(&server, doc).await;
    registration_endpoint(&server, "/oauth2/default/registration2").await;

    let registration = register(http().client(), &server.uri(), &request())
        .await
        .unwrap();

    let body = sent_body(&server.received_requests().await.unwrap());
    assert_eq!(
        body,
        json!({
            "application_type": "private",
            "client_name": "Tether (Clinic A)",
            "redirect_uris": [CALLBACK],
            "token_endpoint_auth_method": "client_secret_post",
            "contacts": ["it@clinic-a.example"],
            "scope": "openid fhirUser offline_access api:fhir user/Patient.rs",
        })
    );
    assert_eq!(
        registration.client_id,
        "LnjqojEEjFYe5j2Jp9m9UnmuxOnMg4VodEJj3yE8_OA"
    );
    assert_eq!(
        registration.client_secret.expose_secret(),
        "j21ecvLmFi9HPc_Hv0t7Ptmf1pVcZQLtHjIdU7U9tkS9"
    );
    assert!(registration.discovered);
    assert!(
        !format!("{registration:?}").contains("j21ecvLm"),
        "the secret never prints"
    );
    assert!(registration.next_steps[0].contains("Administration → System → API Clients"));
    assert!(registration.next_steps[0].contains(&registration.client_id));
    assert!(
        registration
            .next_steps
            .iter()
            .any(|s| s.contains("user/ scopes"))
    );
}

#[tokio::test]
async fn without_discovery_the_documented_endpoint_and_v1_scopes_are_used() {
    let server = MockServer::start().await;
    registration_endpoint(&server, "/oauth2/clinic_b/registration").await;
    let site = format!("{}/apis/clinic_b/fhir", server.uri());
    let mut request = request();
    request.scopes = vec![
        "patient/Observation.read".to_owned(),
        "launch/patient".to_owned(),
    ];

    let registration = register(http().client(), &site, &request).await.unwrap();

    let body = sent_body(&server.received_requests().await.unwrap());
    assert_eq!(
        body["scope"],
        "openid fhirUser offline_access api:fhir patient/Observation.read launch/patient"
    );
    assert!(!registration.discovered);
    assert_eq!(registration.site_name, "clinic_b");
    assert_eq!(
        registration.registration_endpoint,
        format!("{}/oauth2/clinic_b/registration", server.uri())
    );
    assert!(
        registration
            .next_steps
            .iter()
            .any(|s| s.contains("site = clinic_b"))
    );
    assert!(
        !registration
            .next_steps
            .iter()
            .any(|s| s.contains("user/ scopes"))
    );
}

#[tokio::test]
async fn openemr_refusals_are_explained() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/default/registration"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_client_metadata",
            "error_description": "Invalid redirect_uris"
        })))
        .mount(&server)
        .await;
    let err = register(http().client(), &server.uri(), &request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Misconfigured { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("invalid_client_metadata: Invalid redirect_uris"),
        "{err}"
    );
}

#[tokio::test]
async fn a_registration_without_a_secret_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/default/registration"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"client_id": "public-1"})))
        .mount(&server)
        .await;
    let err = register(http().client(), &server.uri(), &request())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("client_secret"), "{err}");
}

#[tokio::test]
async fn bad_requests_are_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let mut system = request();
    system.scopes = vec!["system/*.rs".to_owned()];
    let mut plain = request();
    plain.redirect_uris = vec!["http://tether.example.com/cb".to_owned()];
    let mut contact = request();
    contact.contacts = vec!["not-an-address".to_owned()];
    for (bad, says) in [
        (system, "private_key_jwt"),
        (plain, "https"),
        (contact, "e-mail"),
    ] {
        let err = register(http().client(), &server.uri(), &bad)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}
