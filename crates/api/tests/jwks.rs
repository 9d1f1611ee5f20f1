//! User JWTs signed with ES256 and verified against a JWKS URL: the key set is fetched once and
//! cached, fetched again for an unknown `kid`, and tokens whose algorithm, key, issuer or
//! audience is wrong are refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

use std::time::Duration;

use serde_json::json;
use tether_api::auth::{JwtConfig, JwtKeys, JwtVerifier};
use tether_oidc::testing::{jwks, sign, sign_hs256};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ISSUER: &str = "https://auth.example.com/";
const AUDIENCE: &str = "tether";

fn token(kid: &str, iss: &str, aud: &str) -> String {
    let claims = json!({ "sub": "alice", "iss": iss, "aud": aud, "exp": chrono::Utc::now().timestamp() + 600 });
    sign(kid, &claims)
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
    let claims = json!({ "sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": chrono::Utc::now().timestamp() + 600 });
    let hs = sign_hs256("k1", &claims);
    assert!(verifier.verify(&hs).await.is_err());
}
