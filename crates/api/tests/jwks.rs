//! User JWTs signed with ES256 and verified against a JWKS URL: the key set is fetched once and
//! cached, fetched again for an unknown `kid`, and tokens whose algorithm, key, issuer or
//! audience is wrong are refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use tether_api::auth::{JwtConfig, JwtKeys, JwtVerifier};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A P-256 test key (generated for these tests; it protects nothing).
const PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSHT2kWM/FBxdExjw
rrDmbKZKmEwEA1xznpUz4NpC0dWhRANCAATV2TWyZokPvBnCMQyKYX6npCql+RHf
J+l+Aop9arw2/qNj7nv8hgd2R00MO8arLGWALonrXKa+zwPUlKn5SX+A
-----END PRIVATE KEY-----";
const X: &str = "1dk1smaJD7wZwjEMimF-p6QqpfkR3yfpfgKKfWq8Nv4";
const Y: &str = "o2Pue_yGB3ZHTQw7xqssZYAuietcpr7PA9SUqflJf4A";
const ISSUER: &str = "https://auth.example.com/";
const AUDIENCE: &str = "tether";

fn jwks(kid: &str) -> serde_json::Value {
    json!({ "keys": [{ "kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": kid, "alg": "ES256", "use": "sig" }] })
}

fn token(kid: &str, iss: &str, aud: &str) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    let claims = json!({ "sub": "alice", "iss": iss, "aud": aud, "exp": chrono::Utc::now().timestamp() + 600 });
    encode(
        &header,
        &claims,
        &EncodingKey::from_ec_pem(PRIVATE_KEY.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn verifier(server: &MockServer) -> JwtVerifier {
    verifier_refetching(server, Duration::from_secs(30)).await
}

async fn verifier_refetching(server: &MockServer, every: Duration) -> JwtVerifier {
    JwtVerifier::new(
        JwtConfig {
            keys: JwtKeys::Jwks(format!("{}/jwks.json", server.uri()).parse().unwrap()),
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            leeway: Duration::from_secs(30),
            jwks_refetch_every: every,
        },
        reqwest::Client::new(),
    )
}

#[tokio::test]
async fn es256_tokens_verify_against_the_jwks_which_is_fetched_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/jwks.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks("k1")))
        .expect(1)
        .mount(&server)
        .await;
    let verifier = verifier(&server).await;
    for _ in 0..3 {
        let user = verifier
            .verify(&token("k1", ISSUER, AUDIENCE))
            .await
            .unwrap();
        assert_eq!(user.as_str(), "alice");
    }
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_key_set_again_but_not_more_often_than_allowed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/jwks.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks("old")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let verifier = verifier_refetching(&server, Duration::from_millis(300)).await;
    assert!(
        verifier
            .verify(&token("old", ISSUER, AUDIENCE))
            .await
            .is_ok()
    );
    // The auth system rotates its key; after the refetch interval the new kid is found.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/jwks.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks("new")))
        .mount(&server)
        .await;
    let first = verifier.verify(&token("new", ISSUER, AUDIENCE)).await;
    assert!(
        first.is_err(),
        "right after a fetch the set is not fetched again"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(350)).await;
    let user = verifier
        .verify(&token("new", ISSUER, AUDIENCE))
        .await
        .unwrap();
    assert_eq!(user.as_str(), "alice", "the unknown kid made a new fetch");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn wrong_issuer_audience_kid_or_algorithm_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/jwks.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks("k1")))
        .mount(&server)
        .await;
    let verifier = verifier(&server).await;
    assert!(
        verifier
            .verify(&token("k1", "https://evil.example.com/", AUDIENCE))
            .await
            .is_err()
    );
    assert!(
        verifier
            .verify(&token("k1", ISSUER, "someone-else"))
            .await
            .is_err()
    );
    assert!(
        verifier
            .verify(&token("unknown", ISSUER, AUDIENCE))
            .await
            .is_err()
    );
    // An HS256 token "signed" with public material is refused outright (algorithm confusion).
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    let claims = json!({ "sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": chrono::Utc::now().timestamp() + 600 });
    let hs = encode(&header, &claims, &EncodingKey::from_secret(X.as_bytes())).unwrap();
    assert!(verifier.verify(&hs).await.is_err());
}
