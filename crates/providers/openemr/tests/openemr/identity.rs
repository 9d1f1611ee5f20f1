//! Who connected: from the token answer and its ID token — verified against the site's keys
//! first — when they say, from userinfo otherwise; never with the launch context in the
//! metadata. An ID token that does not verify fails the identity.

use serde_json::json;
use tether_core::provider::{Provider, RawTokenResponse};
use tether_core::secret::AccessToken;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{NONCE, forged, id_token, provider, serve_keys};

fn answer(body: serde_json::Value) -> RawTokenResponse {
    RawTokenResponse::parse(&serde_json::to_vec(&body).unwrap()).unwrap()
}

#[tokio::test]
async fn the_token_answer_identifies_the_practitioner_without_another_call() {
    let server = MockServer::start().await;
    serve_keys(&server).await;
    let provider = provider(&server);
    let raw = answer(json!({
        "access_token": "at",
        "id_token": id_token(&server, &json!({"sub": "u-1", "preferred_username": "drsmith", "email": "smith@clinic-a.example"})),
        "fhirUser": format!("{}/apis/default/fhir/Practitioner/9f1c", server.uri()),
        "patient": "p-42"
    }));
    let identity = provider
        .fetch_identity(&AccessToken::new("at"), &raw, Some(NONCE))
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
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| r.url.path() == "/oauth2/default/jwk"),
        "nothing but the site's keys is fetched: {:?}",
        requests.iter().map(|r| r.url.path()).collect::<Vec<_>>()
    );
    // Without `fhirUser` in the answer, the verified ID token's names the account.
    let raw = answer(json!({
        "access_token": "at",
        "id_token": id_token(&server, &json!({"fhirUser": "Practitioner/9f1c", "preferred_username": "drsmith"})),
    }));
    let from_id_token = provider
        .fetch_identity(&AccessToken::new("at"), &raw, Some(NONCE))
        .await
        .unwrap();
    assert_eq!(from_id_token.subject, identity.subject);
    assert_eq!(from_id_token.label, identity.label);
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
            Some(NONCE),
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
        .fetch_identity(&AccessToken::new("at"), &raw, Some(NONCE))
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
    .fetch_identity(&AccessToken::new("at"), &raw, Some(NONCE))
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
            Some(NONCE),
        )
        .await
        .unwrap_err();
    assert!(err.needs_reauth(), "{err:?}");
}

/// Each ID token here fails one check: the connection fails with a message naming it, and
/// userinfo is not asked to make up for it.
#[tokio::test]
async fn an_id_token_that_does_not_verify_fails_the_identity() {
    let server = MockServer::start().await;
    serve_keys(&server).await;
    let provider = provider(&server);
    let good = id_token(&server, &json!({"fhirUser": "Practitioner/9"}));
    let now = chrono::Utc::now().timestamp();
    let cases = [
        (
            forged(
                &good,
                &json!({"fhirUser": "Practitioner/1", "iss": format!("{}/oauth2/default", server.uri()), "aud": "client-1", "sub": "u-1", "nonce": NONCE, "exp": now + 3600}),
            ),
            "signature does not verify",
        ),
        (id_token(&server, &json!({"aud": null})), "no `aud` claim"),
        (
            id_token(&server, &json!({"aud": "another-client"})),
            "another client",
        ),
        (
            id_token(
                &server,
                &json!({"iss": "https://emr.elsewhere.example/oauth2/default"}),
            ),
            "issuer",
        ),
        (id_token(&server, &json!({"exp": now - 7200})), "expired"),
        (
            id_token(&server, &json!({"nonce": "another-sign-in"})),
            "nonce",
        ),
        (
            id_token(&server, &json!({"nonce": null})),
            "carries no nonce",
        ),
        ("not-a-jwt".to_owned(), "not a JWT"),
    ];
    for (token, why) in cases {
        let raw = answer(json!({"access_token": "at", "id_token": token}));
        let err = provider
            .fetch_identity(&AccessToken::new("at"), &raw, Some(NONCE))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains(why), "expected `{why}`: {text}");
        assert!(!text.contains(&token), "{text}");
    }
    let userinfo_calls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/userinfo"))
        .count();
    assert_eq!(userinfo_calls, 0);
}

#[tokio::test]
async fn the_keys_come_from_the_discovered_jwks_uri() {
    let server = MockServer::start().await;
    let mut smart = crate::support::smart_configuration(&server.uri());
    smart["jwks_uri"] = json!(format!("{}/oauth2/default/keys-rotated", server.uri()));
    crate::support::serve_smart_configuration(&server, smart).await;
    Mock::given(method("GET"))
        .and(path("/oauth2/default/keys-rotated"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(tether_oidc::testing::jwks_unnamed()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let provider = tether_provider_openemr::OpenEmrProvider::discover(
        &crate::support::settings(&server),
        crate::support::http().client().clone(),
    )
    .await
    .unwrap();
    let raw = answer(json!({
        "access_token": "at",
        "id_token": id_token(&server, &json!({"fhirUser": "Practitioner/9"})),
    }));
    let identity = provider
        .fetch_identity(&AccessToken::new("at"), &raw, Some(NONCE))
        .await
        .unwrap();
    assert!(
        identity.subject.ends_with("/Practitioner/9"),
        "{}",
        identity.subject
    );
}
