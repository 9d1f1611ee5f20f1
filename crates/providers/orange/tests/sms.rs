#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Sending SMS through Orange: the exact request, the 201 answer, multi-part texts, the
//! one-renewal retry on an expired token, error bodies, and numbers refused before sending.

mod common;

use common::{CountingTokens, EXPIRED};
use serde_json::json;
use tether_core::provider::ProviderError;
use tether_provider_orange::{SmsEncoding, SmsRequest};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SEND_PATH: &str = "/smsmessaging/v1/outbound/tel%3A%2B2250000/requests";

fn created(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({"outboundSMSMessageRequest": {
        "address": ["tel:+22507000000"], "senderAddress": "tel:+2250000",
        "outboundSMSTextMessage": {"message": "Hello"},
        "resourceURL": format!("https://api.orange.com/smsmessaging/v1/outbound/tel:+2250000/requests/{id}")
    }}))
}

#[tokio::test]
async fn an_sms_is_sent_with_the_encoded_sender_in_the_path_and_the_documented_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .and(header("authorization", "Bearer token-1"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"outboundSMSMessageRequest": {
            "address": "tel:+22507000000",
            "senderAddress": "tel:+2250000",
            "senderName": "ACME",
            "outboundSMSTextMessage": {"message": "Hello"}
        }})))
        .respond_with(created("req-123"))
        .expect(1)
        .mount(&server)
        .await;
    let p = common::provider(&server, &[("sender_address", "+2250000")]);
    let mut request = SmsRequest::new("+22507000000", "Hello");
    request.sender_name = Some("ACME".into());
    let tokens = CountingTokens::default();
    let sent = p.send_sms(&tokens, &request).await.unwrap();
    assert_eq!(sent.message_id.as_deref(), Some("req-123"));
    assert_eq!(sent.segments, 1);
    assert!(!sent.is_multipart());
    assert_eq!(sent.encoding, SmsEncoding::Gsm7);
    assert_eq!(tokens.renewals(), 0);
}

#[tokio::test]
async fn the_sender_name_is_left_out_when_none_is_configured() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/smsmessaging/v1/outbound/tel%3A%2B2430000/requests"))
        .respond_with(created("r"))
        .expect(1)
        .mount(&server)
        .await;
    let p = common::provider(&server, &[]);
    let mut request = SmsRequest::new("tel:+243810000000", "x");
    request.sender = Some("tel:+2430000".into());
    p.send_sms(&CountingTokens::default(), &request)
        .await
        .unwrap();
    let sent: serde_json::Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    let message = &sent["outboundSMSMessageRequest"];
    assert!(message.get("senderName").is_none(), "{message}");
    assert_eq!(message["address"], "tel:+243810000000");
}

#[tokio::test]
async fn long_texts_are_reported_as_multi_part() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(created("r"))
        .mount(&server)
        .await;
    let p = common::provider(&server, &[("sender_address", "+2250000")]);
    let tokens = CountingTokens::default();
    let gsm = p
        .send_sms(&tokens, &SmsRequest::new("+22507000000", "a".repeat(161)))
        .await
        .unwrap();
    assert_eq!((gsm.encoding, gsm.segments), (SmsEncoding::Gsm7, 2));
    assert!(gsm.is_multipart());
    let ucs2 = p
        .send_sms(&tokens, &SmsRequest::new("+22507000000", "ê".repeat(71)))
        .await
        .unwrap();
    assert_eq!((ucs2.encoding, ucs2.segments), (SmsEncoding::Ucs2, 2));
}

#[tokio::test]
async fn an_expired_token_is_renewed_exactly_once_and_the_send_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401).set_body_string(EXPIRED))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .and(header("authorization", "Bearer token-2"))
        .respond_with(created("after-renewal"))
        .expect(1)
        .mount(&server)
        .await;
    let p = common::provider(&server, &[("sender_address", "+2250000")]);
    let tokens = CountingTokens::default();
    let sent = p
        .send_sms(&tokens, &SmsRequest::new("+22507000000", "Hello"))
        .await
        .unwrap();
    assert_eq!(sent.message_id.as_deref(), Some("after-renewal"));
    assert_eq!(tokens.renewals(), 1);
    assert_eq!(*tokens.rejected.lock().unwrap(), ["token-1"]);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_token_that_expires_again_is_not_renewed_in_a_loop() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string(EXPIRED))
        .expect(2)
        .mount(&server)
        .await;
    let p = common::provider(&server, &[("sender_address", "+2250000")]);
    let tokens = CountingTokens::default();
    let err = p
        .send_sms(&tokens, &SmsRequest::new("+22507000000", "Hello"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("code 42"), "{err}");
    assert_eq!(tokens.renewals(), 1);
}

#[tokio::test]
async fn invalid_credentials_are_not_mistaken_for_an_expired_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string(
            r#"{"code":41,"message":"Invalid credentials","description":"The requested service needs credentials, but the ones provided were invalid."}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let p = common::provider(&server, &[("sender_address", "+2250000")]);
    let tokens = CountingTokens::default();
    let err = p
        .send_sms(&tokens, &SmsRequest::new("+22507000000", "Hello"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Misconfigured { .. }),
        "{err:?}"
    );
    assert_eq!(tokens.renewals(), 0);
}

async fn send_error(status: u16, body: serde_json::Value) -> ProviderError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    let p = common::provider(&server, &[("sender_address", "+2250000")]);
    p.send_sms(
        &CountingTokens::default(),
        &SmsRequest::new("+22507000000", "Hello"),
    )
    .await
    .unwrap_err()
}

#[tokio::test]
async fn service_and_policy_exceptions_become_clear_errors() {
    let balance = send_error(403, json!({"requestError": {"policyException": {
        "messageId": "POL0001", "text": "A policy error occurred. For example, rate limit error, authentication error. %1",
        "variables": ["Insufficient balance for the country CIV"]}}}))
    .await;
    assert!(
        matches!(balance, ProviderError::Misconfigured { .. }),
        "{balance:?}"
    );
    assert!(
        balance.to_string().contains("insufficient SMS balance"),
        "{balance}"
    );
    assert!(
        balance.to_string().contains("country CIV"),
        "variables are substituted"
    );
    assert!(!balance.to_string().contains("%1"));

    let name = send_error(
        400,
        json!({"requestError": {"serviceException": {
        "messageId": "SVC0001", "text": "A service error occurred. Error code is %1",
        "variables": ["senderName ACME is not allowed"]}}}),
    )
    .await;
    assert!(
        name.to_string().contains("sender name not approved"),
        "{name}"
    );

    let address = send_error(
        400,
        json!({"requestError": {"serviceException": {
        "messageId": "SVC0004", "text": "No valid addresses provided in message part %1",
        "variables": ["address"]}}}),
    )
    .await;
    assert!(
        address.to_string().contains("no valid recipient address"),
        "{address}"
    );

    let throttled = send_error(429, json!({"code": 53, "message": "Too many requests"})).await;
    assert!(
        matches!(throttled, ProviderError::RateLimited { .. }),
        "{throttled:?}"
    );

    let outage = send_error(500, json!({"requestError": {"serviceException": {
        "messageId": "SVC0001", "text": "A service error occurred. Error code is %1", "variables": ["timeout"]}}}))
    .await;
    assert!(outage.is_transient(), "{outage:?}");
}

#[tokio::test]
async fn bad_numbers_and_empty_texts_are_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(created("never"))
        .expect(0)
        .mount(&server)
        .await;
    let p = common::provider(&server, &[("sender_address", "+2250000")]);
    let tokens = CountingTokens::default();
    let bad_to = p
        .send_sms(&tokens, &SmsRequest::new("07 00 00 00", "Hello"))
        .await
        .unwrap_err();
    assert!(bad_to.to_string().contains("recipient"), "{bad_to}");
    assert!(bad_to.to_string().contains("E.164"), "{bad_to}");
    let mut bad_sender = SmsRequest::new("+22507000000", "Hello");
    bad_sender.sender = Some("2250000".into());
    let err = p.send_sms(&tokens, &bad_sender).await.unwrap_err();
    assert!(err.to_string().contains("sender"), "{err}");
    let empty = p
        .send_sms(&tokens, &SmsRequest::new("+22507000000", "  "))
        .await
        .unwrap_err();
    assert!(empty.to_string().contains("empty"), "{empty}");

    let no_default = common::provider(&server, &[]);
    let err = no_default
        .send_sms(&tokens, &SmsRequest::new("+22507000000", "Hello"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sender_address"), "{err}");
}
