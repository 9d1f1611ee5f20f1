//! Client-credentials app tokens: one request for many concurrent callers, and exactly one
//! renewal after an expired-token answer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

mod common;

use common::{Harness, Mode};
use tether_core::ProviderKind;
use tether_sandbox::GrantType;

async fn concurrent_callers_share_one_client_credentials_request(mode: Mode) {
    let replicas = if mode == Mode::Production { 2 } else { 1 };
    let h = Harness::with(mode, replicas, |_| {}).await;
    let calls = (0..100).map(|i| {
        let broker = h.brokers[i % replicas].clone();
        tokio::spawn(async move { broker.app_token(ProviderKind::Orange, "").await })
    });
    let tokens: Vec<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap().access_token.expose_secret().to_owned())
        .collect();
    assert_eq!(h.token_calls(GrantType::ClientCredentials), 1);
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    assert_eq!(h.count("tokens").await, 1, "the app token is stored");
    // Stored and reused: a later call makes no request.
    h.broker()
        .app_token(ProviderKind::Orange, "")
        .await
        .unwrap();
    assert_eq!(h.token_calls(GrantType::ClientCredentials), 1);
}

async fn an_expired_token_answer_triggers_exactly_one_renewal(mode: Mode) {
    let replicas = if mode == Mode::Production { 2 } else { 1 };
    let h = Harness::with(mode, replicas, |_| {}).await;
    let old = h
        .broker()
        .app_token(ProviderKind::Orange, "")
        .await
        .unwrap()
        .access_token;
    h.sandbox
        .controls()
        .expire_access_token(old.expose_secret());
    let renewals = (0..100).map(|i| {
        let (broker, old) = (h.brokers[i % replicas].clone(), old.clone());
        tokio::spawn(async move {
            broker
                .app_token_rejected(ProviderKind::Orange, "", &old)
                .await
        })
    });
    let tokens: Vec<String> = futures::future::join_all(renewals)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap().access_token.expose_secret().to_owned())
        .collect();
    assert_eq!(
        h.token_calls(GrantType::ClientCredentials),
        2,
        "one fetch, one renewal"
    );
    assert!(
        tokens
            .iter()
            .all(|t| *t == tokens[0] && t != old.expose_secret())
    );
    let me = h
        .browser
        .get(format!("{}/api/me", h.sandbox.issuer()))
        .bearer_auth(&tokens[0])
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

async fn a_user_provider_has_no_app_token(mode: Mode) {
    let h = Harness::start(mode).await;
    let result = h.broker().app_token(ProviderKind::Google, "").await;
    assert!(matches!(
        result,
        Err(tether_broker::BrokerError::InvalidInput(_))
    ));
}

both_modes!(
    concurrent_callers_share_one_client_credentials_request,
    an_expired_token_answer_triggers_exactly_one_renewal,
    a_user_provider_has_no_app_token,
);
