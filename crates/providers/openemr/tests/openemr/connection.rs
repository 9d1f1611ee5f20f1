//! The test connection: FHIR metadata, then a counted Patient search.

use serde_json::json;
use tether_core::provider::{Provider, ProviderError};
use tether_core::secret::AccessToken;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::provider;

async fn metadata(server: &MockServer, body: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/apis/default/fhir/metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_report_names_the_server_version_and_the_patient_count() {
    let server = MockServer::start().await;
    metadata(
        &server,
        json!({
            "resourceType": "CapabilityStatement",
            "fhirVersion": "4.0.1",
            "software": {"name": "OpenEMR", "version": "7.0.3"},
            "rest": [{"mode": "server"}]
        }),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/apis/default/fhir/Patient"))
        .and(query_param("_summary", "count"))
        .and(query_param("_count", "1"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"resourceType": "Bundle", "type": "searchset", "total": 42})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let report = provider(&server)
        .test_connection(&AccessToken::new("at-1"))
        .await
        .unwrap();
    assert_eq!(
        report.detail,
        "OpenEMR 7.0.3, FHIR 4.0.1 at clinic-a; 42 patients visible to this account"
    );
    let requests = server.received_requests().await.unwrap();
    let meta = requests
        .iter()
        .find(|r| r.url.path().ends_with("/metadata"))
        .unwrap();
    assert!(
        meta.headers.get("authorization").is_none(),
        "metadata needs no token"
    );
}

#[tokio::test]
async fn records_returned_by_a_site_that_ignores_summary_count_are_not_reported() {
    let server = MockServer::start().await;
    metadata(&server, json!({"resourceType": "CapabilityStatement"})).await;
    Mock::given(method("GET"))
        .and(path("/apis/default/fhir/Patient"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "resourceType": "Bundle",
            "entry": [{"resource": {"resourceType": "Patient", "name": [{"family": "Doe"}]}}]
        })))
        .mount(&server)
        .await;
    let report = provider(&server)
        .test_connection(&AccessToken::new("at"))
        .await
        .unwrap();
    assert_eq!(
        report.detail,
        "an unnamed FHIR server at clinic-a; Patient search allowed"
    );
}

#[tokio::test]
async fn a_site_that_is_not_a_fhir_server_is_a_configuration_error() {
    let server = MockServer::start().await;
    metadata(&server, json!({"hello": "world"})).await;
    let err = provider(&server)
        .test_connection(&AccessToken::new("at"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Misconfigured { .. }),
        "{err:?}"
    );

    let missing = MockServer::start().await;
    let err = provider(&missing)
        .test_connection(&AccessToken::new("at"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("FHIR API is enabled"), "{err}");
}
