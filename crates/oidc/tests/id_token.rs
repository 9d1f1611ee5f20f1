//! ID tokens signed with the committed test key, verified against a key set served by wiremock:
//! a good token passes (and the set is fetched once for several tokens); a token with a wrong
//! signature, audience, issuer, expiry, nonce, algorithm or key is refused with a message that
//! says why and never contains the token.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tether_core::provider::ProviderError;
use tether_oidc::testing::{
    KID, jwks, jwks_of_another_key, jwks_unnamed, sign, sign_hs256, sign_unnamed,
};
use tether_oidc::{ExpectedIssuer, IdTokenVerifier};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ISSUER: &str = "https://emr.example/oauth2/default";
const CLIENT: &str = "client-1";
const NONCE: &str = "n-0S6_WzA2Mj";

/// A server answering `/jwk` with `answer`, checking on drop that it was asked exactly
/// `fetches` times when given.
async fn serving(answer: ResponseTemplate, fetches: Option<u64>) -> MockServer {
    let server = MockServer::start().await;
    let mock = Mock::given(method("GET"))
        .and(path("/jwk"))
        .respond_with(answer);
    match fetches {
        Some(n) => mock.expect(n).mount(&server).await,
        None => mock.mount(&server).await,
    }
    server
}

async fn key_server() -> MockServer {
    serving(ResponseTemplate::new(200).set_body_json(jwks(KID)), None).await
}

fn verifier(server: &MockServer, issuer: ExpectedIssuer) -> IdTokenVerifier {
    IdTokenVerifier::new(
        format!("{}/jwk", server.uri()).parse().unwrap(),
        reqwest::Client::new(),
        CLIENT,
        issuer,
    )
}

fn exact(server: &MockServer) -> IdTokenVerifier {
    verifier(server, ExpectedIssuer::Exact(ISSUER.to_owned()))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims of a good token, with `changes` applied (`null` removes a claim).
fn claims(changes: &Value) -> Value {
    let mut claims = json!({
        "iss": ISSUER, "aud": CLIENT, "sub": "u-1", "nonce": NONCE,
        "iat": now(), "exp": now() + 3600, "fhirUser": "Practitioner/9"
    });
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn good_token() -> String {
    sign(KID, &claims(&json!({})))
}

/// The refusal of `token`, checked to name no part of it.
async fn refusal(verifier: &IdTokenVerifier, token: &str, nonce: Option<&str>) -> ProviderError {
    let err = verifier.verify(token, nonce).await.unwrap_err();
    let text = err.to_string();
    for part in token.split('.').filter(|p| p.len() > 8) {
        assert!(!text.contains(part), "the error quotes the token: {text}");
    }
    err
}

#[tokio::test]
async fn a_good_token_passes_and_the_key_set_is_fetched_once() {
    let server = serving(ResponseTemplate::new(200).set_body_json(jwks(KID)), Some(1)).await;
    let verifier = exact(&server);
    for _ in 0..2 {
        let verified = verifier.verify(&good_token(), Some(NONCE)).await.unwrap();
        assert_eq!(verified["sub"], "u-1");
        assert_eq!(verified["fhirUser"], "Practitioner/9");
    }
}

#[tokio::test]
async fn a_token_whose_payload_was_changed_fails_the_signature_check() {
    let server = key_server().await;
    let token = good_token();
    let parts: Vec<&str> = token.split('.').collect();
    let forged_payload = URL_SAFE_NO_PAD.encode(
        claims(&json!({"fhirUser": "Practitioner/1-admin"}))
            .to_string()
            .as_bytes(),
    );
    let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    let err = refusal(&exact(&server), &forged, Some(NONCE)).await;
    assert!(
        err.to_string().contains("signature does not verify"),
        "{err}"
    );
}

#[tokio::test]
async fn a_token_for_another_client_or_for_no_client_is_refused() {
    let server = key_server().await;
    let verifier = exact(&server);
    let other = sign(KID, &claims(&json!({"aud": "someone-else"})));
    let err = refusal(&verifier, &other, Some(NONCE)).await;
    assert!(
        matches!(err, ProviderError::Misconfigured { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("another client"), "{err}");
    let none = sign(KID, &claims(&json!({"aud": null})));
    let err = refusal(&verifier, &none, Some(NONCE)).await;
    assert!(err.to_string().contains("no `aud` claim"), "{err}");
}

#[tokio::test]
async fn several_audiences_need_our_client_as_authorized_party() {
    let server = key_server().await;
    let verifier = exact(&server);
    let both = json!([CLIENT, "api://other"]);
    let without_azp = sign(KID, &claims(&json!({"aud": both})));
    let err = refusal(&verifier, &without_azp, Some(NONCE)).await;
    assert!(err.to_string().contains("`azp`"), "{err}");
    let foreign_azp = sign(KID, &claims(&json!({"aud": both, "azp": "api://other"})));
    assert!(verifier.verify(&foreign_azp, Some(NONCE)).await.is_err());
    let ours = sign(KID, &claims(&json!({"aud": both, "azp": CLIENT})));
    assert!(verifier.verify(&ours, Some(NONCE)).await.is_ok());
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let server = key_server().await;
    let token = sign(KID, &claims(&json!({"iss": "https://evil.example/"})));
    let err = refusal(&exact(&server), &token, Some(NONCE)).await;
    assert!(
        err.to_string()
            .contains("issuer `https://evil.example/` is not the expected"),
        "{err}"
    );
    let token = sign(KID, &claims(&json!({"iss": null})));
    assert!(exact(&server).verify(&token, Some(NONCE)).await.is_err());
}

#[tokio::test]
async fn an_expired_token_is_refused_beyond_the_leeway() {
    let server = key_server().await;
    let verifier = exact(&server);
    let expired = sign(KID, &claims(&json!({"exp": now() - 3600})));
    let err = refusal(&verifier, &expired, Some(NONCE)).await;
    assert!(err.to_string().contains("expired"), "{err}");
    let within_leeway = sign(KID, &claims(&json!({"exp": now() - 10})));
    assert!(verifier.verify(&within_leeway, Some(NONCE)).await.is_ok());
    let no_exp = sign(KID, &claims(&json!({"exp": null})));
    assert!(verifier.verify(&no_exp, Some(NONCE)).await.is_err());
}

#[tokio::test]
async fn the_nonce_must_be_the_one_the_sign_in_sent() {
    let server = key_server().await;
    let verifier = exact(&server);
    let err = refusal(&verifier, &good_token(), Some("another-flow")).await;
    assert!(err.to_string().contains("nonce is not the one"), "{err}");
    let without = sign(KID, &claims(&json!({"nonce": null})));
    let err = refusal(&verifier, &without, Some(NONCE)).await;
    assert!(err.to_string().contains("carries no nonce"), "{err}");
    // A refresh answer: no nonce was sent, so none is compared.
    assert!(verifier.verify(&without, None).await.is_ok());
}

#[tokio::test]
async fn unsigned_and_symmetric_tokens_are_refused_without_a_key_lookup() {
    let server = MockServer::start().await;
    let verifier = exact(&server);
    let payload = URL_SAFE_NO_PAD.encode(claims(&json!({})).to_string().as_bytes());
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"tether-test-key"}"#);
    let unsigned = format!("{header}.{payload}.");
    let err = refusal(&verifier, &unsigned, Some(NONCE)).await;
    assert!(err.to_string().contains("cannot be trusted"), "{err}");
    let hs256 = sign_hs256(KID, &claims(&json!({})));
    let err = refusal(&verifier, &hs256, Some(NONCE)).await;
    assert!(err.to_string().contains("algorithm"), "{err}");
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "no key set is fetched for a token no key could verify"
    );
}

#[tokio::test]
async fn an_unknown_key_is_refused_and_refetches_the_set_at_most_once_per_interval() {
    let server = serving(ResponseTemplate::new(200).set_body_json(jwks(KID)), Some(1)).await;
    let verifier = exact(&server);
    assert!(verifier.verify(&good_token(), Some(NONCE)).await.is_ok());
    for _ in 0..3 {
        let rotated = sign("key-2", &claims(&json!({})));
        let err = refusal(&verifier, &rotated, Some(NONCE)).await;
        assert!(
            err.to_string().contains("not in the issuer's key set"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_key_set_is_a_clear_error() {
    let server = serving(ResponseTemplate::new(503), None).await;
    let err = refusal(&exact(&server), &good_token(), Some(NONCE)).await;
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("could not be fetched"), "{err}");
}

#[tokio::test]
async fn a_per_tenant_issuer_names_the_tokens_own_tenant() {
    let server = key_server().await;
    let verifier = verifier(
        &server,
        ExpectedIssuer::PerTenant("https://login.microsoftonline.com/{tid}/v2.0".to_owned()),
    );
    let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let good = sign(
        KID,
        &claims(
            &json!({"tid": tid, "iss": format!("https://login.microsoftonline.com/{tid}/v2.0")}),
        ),
    );
    assert!(verifier.verify(&good, Some(NONCE)).await.is_ok());
    let mismatched = sign(
        KID,
        &claims(
            &json!({"tid": tid, "iss": "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"}),
        ),
    );
    assert!(verifier.verify(&mismatched, Some(NONCE)).await.is_err());
    let no_tid = sign(
        KID,
        &claims(&json!({"iss": format!("https://login.microsoftonline.com/{tid}/v2.0")})),
    );
    let err = refusal(&verifier, &no_tid, Some(NONCE)).await;
    assert!(err.to_string().contains("no `tid` claim"), "{err}");
}

/// OpenEMR names no key in its tokens and publishes one key without a `kid`.
#[tokio::test]
async fn a_token_naming_no_key_is_checked_with_the_sets_only_key() {
    let server = serving(
        ResponseTemplate::new(200).set_body_json(jwks_unnamed()),
        Some(1),
    )
    .await;
    let verifier = exact(&server);
    let unnamed = sign_unnamed(&claims(&json!({})));
    assert!(verifier.verify(&unnamed, Some(NONCE)).await.is_ok());
    let forged_payload = URL_SAFE_NO_PAD.encode(claims(&json!({"sub": "u-2"})).to_string());
    let parts: Vec<&str> = unnamed.split('.').collect();
    let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    let err = refusal(&verifier, &forged, Some(NONCE)).await;
    assert!(
        err.to_string().contains("signature does not verify"),
        "{err}"
    );
}

#[tokio::test]
async fn a_token_naming_no_key_is_refused_when_the_set_has_several() {
    let mut keys = jwks(KID);
    let other = jwks_of_another_key(Some("other"))["keys"][0].clone();
    keys["keys"].as_array_mut().unwrap().push(other);
    let server = serving(ResponseTemplate::new(200).set_body_json(keys), None).await;
    let err = refusal(
        &exact(&server),
        &sign_unnamed(&claims(&json!({}))),
        Some(NONCE),
    )
    .await;
    assert!(err.to_string().contains("has several"), "{err}");
}

/// A set whose only key is another one at the first fetch, the test key after.
async fn serve_a_replaced_key(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/jwk"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks_of_another_key(None)))
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/jwk"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks_unnamed()))
        .mount(server)
        .await;
}

/// An issuer that replaced its only key: a token naming no key fails with the cached one,
/// and the set is fetched again (once the refetch interval allows) before refusing it.
#[tokio::test]
async fn a_replaced_only_key_is_fetched_again_for_a_token_naming_no_key() {
    let server = MockServer::start().await;
    serve_a_replaced_key(&server).await;
    let token = sign_unnamed(&claims(&json!({})));
    // Within the interval the set is not fetched again: the token is refused.
    let patient = exact(&server);
    let err = refusal(&patient, &token, Some(NONCE)).await;
    assert!(
        err.to_string().contains("signature does not verify"),
        "{err}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // Once it allows (here at once), the new key is fetched and the token verifies.
    server.reset().await;
    serve_a_replaced_key(&server).await;
    let eager = exact(&server).with_key_limits(Duration::ZERO, tether_oidc::MAX_AGE);
    assert!(eager.verify(&token, Some(NONCE)).await.is_ok());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// A key the issuer withdrew stops verifying once the set is older than its maximum age.
#[tokio::test]
async fn a_set_past_its_age_is_fetched_again_and_a_withdrawn_key_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/jwk"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks(KID)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/jwk"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks_of_another_key(Some("k2"))))
        .mount(&server)
        .await;
    let verifier = exact(&server).with_key_limits(Duration::ZERO, Duration::ZERO);
    assert!(verifier.verify(&good_token(), Some(NONCE)).await.is_ok());
    let err = refusal(&verifier, &good_token(), Some(NONCE)).await;
    assert!(
        err.to_string().contains("not in the issuer's key set"),
        "{err}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
