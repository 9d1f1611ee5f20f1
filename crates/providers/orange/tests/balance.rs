#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! The balance (contracts) call in both documented shapes, the connection test that uses
//! it, and the app identity.

mod common;

use common::{CountingTokens, EXPIRED};
use serde_json::json;
use tether_core::provider::{Provider, ProviderError, RawTokenResponse};
use tether_core::secret::AccessToken;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CONTRACTS: &str = "/sms/admin/v1/contracts";

#[tokio::test]
async fn the_balance_reads_the_array_shape() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(CONTRACTS))
        .and(header("authorization", "Bearer token-1"))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "c1", "country": "CIV", "offerName": "SMS_OCB", "availableUnits": 95,
             "status": "ACTIVE", "expirationDate": "2026-01-31T23:59:59.000Z"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let contracts = common::provider(&server, &[])
        .balance(&CountingTokens::default())
        .await
        .unwrap();
    assert_eq!(contracts.len(), 1);
    assert_eq!(contracts[0].country.as_deref(), Some("CIV"));
    assert_eq!(contracts[0].available_units, Some(95));
    assert_eq!(contracts[0].status.as_deref(), Some("ACTIVE"));
}

#[tokio::test]
async fn the_balance_reads_the_partner_contracts_shape_after_renewing_an_expired_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401).set_body_string(EXPIRED))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(CONTRACTS))
        .and(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"partnerContracts": {
            "partnerId": "dev@example.com", "contracts": [{"service": "SMS_OCB", "contractDescription": "SMS",
            "serviceContracts": [{"country": "SEN", "service": "SMS_OCB", "contractId": "sc-1",
                                   "availableUnits": 40, "expires": "2026-05-01T00:00:00Z"}]}]}})))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = CountingTokens::default();
    let contracts = common::provider(&server, &[])
        .balance(&tokens)
        .await
        .unwrap();
    assert_eq!(tokens.renewals(), 1);
    assert_eq!(contracts.len(), 1);
    assert_eq!(contracts[0].country.as_deref(), Some("SEN"));
    assert_eq!(contracts[0].available_units, Some(40));
    assert!(contracts[0].expires_at.is_some());
}

#[tokio::test]
async fn the_connection_test_calls_the_contracts_with_the_given_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(CONTRACTS))
        .and(header("authorization", "Bearer given"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"country": "CIV", "availableUnits": 95}, {"country": "SEN", "availableUnits": "5"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let report = common::provider(&server, &[])
        .test_connection(&AccessToken::new("given"))
        .await
        .unwrap();
    assert!(report.detail.contains("100 SMS units"), "{}", report.detail);
    assert!(report.detail.contains("CIV 95"), "{}", report.detail);
}

#[tokio::test]
async fn a_failed_connection_test_keeps_oranges_words() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"code": 50, "message": "Access denied", "description": "not subscribed"}),
        ))
        .mount(&server)
        .await;
    let err = common::provider(&server, &[])
        .test_connection(&AccessToken::new("given"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Misconfigured { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("not subscribed"), "{err}");
}

#[tokio::test]
async fn the_identity_is_the_application() {
    let server = MockServer::start().await;
    let p = common::provider(&server, &[]);
    let raw = RawTokenResponse::parse(br#"{"access_token":"t","expires_in":"3600"}"#).unwrap();
    let identity = p
        .fetch_identity(&AccessToken::new("t"), &raw, None)
        .await
        .unwrap();
    assert_eq!(identity.subject, "orange-id");
    assert!(identity.label.unwrap().contains("orange-id"));
    assert_eq!(identity.metadata["grant"], "client_credentials");
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "no call needed"
    );
}

#[test]
fn only_code_42_asks_the_proxy_to_renew() {
    let settings = tether_core::provider::ProviderSettings::new(
        "id",
        Some(tether_core::secret::ClientSecret::new("s")),
    );
    let p = tether_provider_orange::OrangeProvider::new(&settings, reqwest::Client::new()).unwrap();
    assert!(p.is_expired_token_answer(401, EXPIRED.as_bytes()));
    assert!(!p.is_expired_token_answer(401, br#"{"code":41,"message":"Invalid credentials"}"#));
    assert!(!p.is_expired_token_answer(401, b""));
}
