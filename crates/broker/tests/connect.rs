//! The connect flow end to end against the sandbox: success, every rejected callback, scope
//! handling and account linking rules. Each test runs on the embedded mode (SQLite + database
//! state) and on production (PostgreSQL + Redis).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

mod common;

use common::{Harness, Mode, client_info, user};
use tether_broker::{CallbackParams, ConnectOutcome};
use tether_core::ProviderKind::{Google, Microsoft};
use tether_core::audit::{AuditAction, AuditQuery};
use tether_core::integration::IntegrationStatus;
use tether_core::ports::{
    AuditRepository, ConsentRepository, IntegrationRepository, TokenRepository,
};
use tether_core::token::TokenOwner;

async fn failures_audited(h: &Harness) -> usize {
    h.store
        .query(&AuditQuery {
            action: Some(AuditAction::AuthorizationFailed),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

async fn a_full_connect_stores_the_integration_tokens_consent_and_audit(mode: Mode) {
    let h = Harness::start(mode).await;
    let result = h.connect("alice", Google, "alice").await;
    assert_eq!(
        result.outcome,
        ConnectOutcome::Connected,
        "{}",
        result.message
    );
    let id = result.integration_id.unwrap();
    let redirect = result.redirect_to.unwrap();
    assert!(redirect.as_str().starts_with(common::RETURN_TO));
    let q: std::collections::HashMap<_, _> = redirect.query_pairs().into_owned().collect();
    assert_eq!(q["outcome"], "connected");
    assert_eq!(q["integration_id"], id.to_string());
    assert_eq!(q["tab"], "1", "the caller's own query survives");

    let integration = h.integration(id).await;
    assert_eq!(integration.user_id, user("alice"));
    assert_eq!(integration.status, IntegrationStatus::Active);
    assert!(integration.account_label.unwrap().contains("alice"));
    assert_eq!(
        integration.granted_scopes.to_delimited(),
        "email items.read items.write profile"
    );
    let tokens = TokenRepository::get(&*h.store, &TokenOwner::Integration(id))
        .await
        .unwrap()
        .unwrap();
    assert!(tokens.tokens.refresh_token.is_some());
    let consents = h.store.list_for_integration(id).await.unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].ip_address.as_deref(), Some("203.0.113.9"));
    assert_eq!(consents[0].user_agent.as_deref(), Some("test-browser/1.0"));
    let connected = h
        .store
        .query(&AuditQuery {
            integration_id: Some(id),
            action: Some(AuditAction::Connected),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(connected.len(), 1);
}

async fn a_reused_state_is_rejected(mode: Mode) {
    let h = Harness::start(mode).await;
    let pending = h.begin("alice", Google, None).await;
    let params = h.consent(&pending, "alice", Some(&["profile"])).await;
    let first = h
        .broker()
        .complete_callback(
            Google,
            params.clone(),
            Some(&pending.cookie),
            &client_info(),
        )
        .await
        .unwrap();
    assert_eq!(first.outcome, ConnectOutcome::Connected);
    let again = h
        .broker()
        .complete_callback(Google, params, Some(&pending.cookie), &client_info())
        .await
        .unwrap();
    assert_eq!(again.outcome, ConnectOutcome::Error);
    assert!(
        again.redirect_to.is_none(),
        "an unknown flow redirects nowhere"
    );
    assert!(again.message.contains("already used"), "{}", again.message);
    assert_eq!(h.count("integrations").await, 1);
    assert_eq!(failures_audited(&h).await, 1);
}

async fn an_expired_flow_is_rejected(mode: Mode) {
    let h = Harness::with(mode, 1, |c| c.flow_ttl = std::time::Duration::from_secs(1)).await;
    let pending = h.begin("alice", Google, None).await;
    let params = h.consent(&pending, "alice", Some(&["profile"])).await;
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let result = h
        .broker()
        .complete_callback(Google, params, Some(&pending.cookie), &client_info())
        .await
        .unwrap();
    assert_eq!(result.outcome, ConnectOutcome::Expired);
    let redirect = result
        .redirect_to
        .expect("an expired flow still goes back to return_to");
    assert!(redirect.as_str().contains("outcome=expired"));
    assert_eq!(h.count("integrations").await, 0);
    assert_eq!(h.count("tokens").await, 0);
}

async fn a_missing_or_wrong_browser_binding_is_rejected(mode: Mode) {
    let h = Harness::start(mode).await;
    for cookie in [None, Some("not-the-cookie")] {
        let pending = h.begin("alice", Google, None).await;
        let params = h.consent(&pending, "alice", Some(&["profile"])).await;
        let result = h
            .broker()
            .complete_callback(Google, params, cookie, &client_info())
            .await
            .unwrap();
        assert_eq!(result.outcome, ConnectOutcome::Error);
        assert!(
            result.message.contains("another browser"),
            "{}",
            result.message
        );
        assert!(result.redirect_to.is_none());
    }
    assert_eq!(h.count("integrations").await, 0);
    assert_eq!(failures_audited(&h).await, 2);
}

async fn a_state_issued_for_one_provider_is_rejected_on_another_providers_callback(mode: Mode) {
    let h = Harness::start(mode).await;
    let pending = h.begin("alice", Google, None).await;
    let params = h.consent(&pending, "alice", Some(&["profile"])).await;
    let result = h
        .broker()
        .complete_callback(Microsoft, params, Some(&pending.cookie), &client_info())
        .await
        .unwrap();
    assert_eq!(result.outcome, ConnectOutcome::Error);
    assert!(
        result.message.contains("another provider"),
        "{}",
        result.message
    );
    assert_eq!(h.count("integrations").await, 0);
}

async fn an_issuer_mismatch_is_rejected(mode: Mode) {
    let h = Harness::start(mode).await;
    for iss in [Some("https://evil.example.com".to_owned()), None] {
        let pending = h.begin("alice", Google, None).await;
        let mut params = h.consent(&pending, "alice", Some(&["profile"])).await;
        params.iss = iss;
        let result = h
            .broker()
            .complete_callback(Google, params, Some(&pending.cookie), &client_info())
            .await
            .unwrap();
        assert_eq!(result.outcome, ConnectOutcome::Error);
        assert!(result.message.contains("issuer"), "{}", result.message);
    }
    assert_eq!(h.count("integrations").await, 0);
}

async fn a_user_who_denies_gets_the_denied_outcome(mode: Mode) {
    let h = Harness::start(mode).await;
    let pending = h.begin("alice", Google, None).await;
    let params = h.consent(&pending, "alice", None).await;
    assert_eq!(params.error.as_deref(), Some("access_denied"));
    let result = h
        .broker()
        .complete_callback(Google, params, Some(&pending.cookie), &client_info())
        .await
        .unwrap();
    assert_eq!(result.outcome, ConnectOutcome::Denied);
    assert!(
        result
            .redirect_to
            .unwrap()
            .as_str()
            .contains("outcome=denied")
    );
    assert_eq!(h.count("integrations").await, 0);
    assert_eq!(failures_audited(&h).await, 1);
}

async fn granting_fewer_optional_scopes_records_the_granted_subset(mode: Mode) {
    let h = Harness::start(mode).await;
    let pending = h
        .begin("alice", Google, Some("profile email items.read"))
        .await;
    let params = h
        .consent(&pending, "alice", Some(&["profile", "email"]))
        .await;
    let result = h
        .broker()
        .complete_callback(Google, params, Some(&pending.cookie), &client_info())
        .await
        .unwrap();
    assert_eq!(result.outcome, ConnectOutcome::Connected);
    assert!(
        result.message.contains("items.read"),
        "the message names what is missing: {}",
        result.message
    );
    let integration = h.integration(result.integration_id.unwrap()).await;
    assert_eq!(
        integration.requested_scopes.to_delimited(),
        "email items.read profile"
    );
    assert_eq!(integration.granted_scopes.to_delimited(), "email profile");
}

async fn a_missing_required_scope_gives_insufficient_scopes_and_stores_nothing(mode: Mode) {
    let h = Harness::start(mode).await;
    let pending = h.begin("alice", Google, Some("email items.read")).await;
    assert!(
        pending.authorize_query["scope"].contains("profile"),
        "required scopes are always requested"
    );
    let params = h
        .consent(&pending, "alice", Some(&["email", "items.read"]))
        .await;
    let result = h
        .broker()
        .complete_callback(Google, params, Some(&pending.cookie), &client_info())
        .await
        .unwrap();
    assert_eq!(result.outcome, ConnectOutcome::InsufficientScopes);
    assert!(result.message.contains("profile"));
    assert!(
        result
            .redirect_to
            .unwrap()
            .as_str()
            .contains("outcome=insufficient_scopes")
    );
    assert_nothing_stored(&h).await;
}

async fn the_same_account_connected_twice_is_one_integration_with_the_same_id(mode: Mode) {
    let h = Harness::start(mode).await;
    let first = h
        .connect("alice", Google, "alice")
        .await
        .integration_id
        .unwrap();
    let second = h.connect("alice", Google, "alice").await;
    assert_eq!(second.outcome, ConnectOutcome::Connected);
    assert_eq!(second.integration_id, Some(first));
    assert_eq!(h.count("integrations").await, 1);
    assert_eq!(h.count("tokens").await, 1);
    assert_eq!(h.count("consents").await, 2, "each grant is recorded");
}

async fn reconnecting_after_reauth_required_keeps_the_id(mode: Mode) {
    let h = Harness::start(mode).await;
    let id = h
        .connect("alice", Google, "alice")
        .await
        .integration_id
        .unwrap();
    let mut integration = h.integration(id).await;
    integration.status = IntegrationStatus::ReauthRequired;
    IntegrationRepository::update(&*h.store, &integration)
        .await
        .unwrap();
    let again = h.connect("alice", Google, "alice").await;
    assert_eq!(again.integration_id, Some(id));
    assert_eq!(h.integration(id).await.status, IntegrationStatus::Active);
    let reconnected = h
        .store
        .query(&AuditQuery {
            integration_id: Some(id),
            action: Some(AuditAction::Reconnected),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(reconnected.len(), 1);
}

async fn two_accounts_of_one_provider_are_two_integrations(mode: Mode) {
    let h = Harness::start(mode).await;
    let work = h
        .connect("alice", Google, "alice-work")
        .await
        .integration_id
        .unwrap();
    let home = h
        .connect("alice", Google, "alice-home")
        .await
        .integration_id
        .unwrap();
    assert_ne!(work, home);
    assert_eq!(
        h.store.list_for_user(&user("alice")).await.unwrap().len(),
        2
    );
}

async fn a_second_user_cannot_link_an_account_another_user_linked(mode: Mode) {
    let h = Harness::start(mode).await;
    assert_eq!(
        h.connect("alice", Google, "shared").await.outcome,
        ConnectOutcome::Connected
    );
    let bob = h.connect("bob", Google, "shared").await;
    assert_eq!(bob.outcome, ConnectOutcome::Error);
    assert!(bob.message.contains("another user"), "{}", bob.message);
    assert!(
        h.store
            .list_for_user(&user("bob"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(h.count("tokens").await, 1);
}

async fn malformed_callback_input_is_refused_and_only_audited(mode: Mode) {
    let h = Harness::start(mode).await;
    let long = "x".repeat(5000);
    let cases = [
        CallbackParams::default(),
        CallbackParams {
            state: Some(String::new()),
            code: Some("c".into()),
            ..Default::default()
        },
        CallbackParams {
            state: Some("garbage".into()),
            code: Some("c".into()),
            ..Default::default()
        },
        CallbackParams {
            state: Some(long.clone()),
            ..Default::default()
        },
        CallbackParams {
            state: Some("s".into()),
            code: Some(long),
            ..Default::default()
        },
    ];
    let n = cases.len();
    for params in cases {
        let result = h
            .broker()
            .complete_callback(Google, params, Some("cookie"), &client_info())
            .await
            .unwrap();
        assert_eq!(result.outcome, ConnectOutcome::Error);
        assert!(result.redirect_to.is_none());
        assert!(!result.message.is_empty());
    }
    for table in ["integrations", "tokens", "consents"] {
        assert_eq!(h.count(table).await, 0);
    }
    assert_eq!(failures_audited(&h).await, n);
}

async fn return_to_outside_the_allowlist_is_refused(mode: Mode) {
    let h = Harness::start(mode).await;
    let result = h
        .broker()
        .begin_authorization(
            tether_broker::AuthorizationRequest {
                user_id: user("alice"),
                provider: Google,
                instance: String::new(),
                scopes: None,
                return_to: "https://evil.example.com/settings".into(),
                login_hint: None,
            },
            &client_info(),
        )
        .await;
    assert!(matches!(
        result,
        Err(tether_broker::BrokerError::InvalidReturnTo)
    ));
}

/// The sandbox standing in for Google, with `implicit` added to every request.
fn sandbox_as_google(h: &Harness, implicit: &str) -> common::Tweaked {
    let sandbox = tether_provider_sandbox::SandboxProvider::new(
        Google,
        h.sandbox.issuer(),
        common::CLIENT_ID,
        common::CLIENT_SECRET,
        reqwest::Client::new(),
    );
    common::Tweaked {
        inner: sandbox,
        implicit: tether_core::ScopeSet::parse_delimited(implicit).unwrap(),
        ..common::Tweaked::default_for(Google)
    }
}

/// `profile` (a required scope) added to every request, as Google adds `openid email`.
fn with_required_implicit_scope(h: &mut Harness) {
    let tweaked = sandbox_as_google(h, "profile");
    h.rebuild_with(std::sync::Arc::new(tweaked));
}

/// Connects `user` at the current provider, granting every requested scope; the authorize
/// query and the outcome.
async fn connect_granting_all(
    h: &Harness,
    user: &str,
) -> (
    std::collections::HashMap<String, String>,
    tether_broker::CallbackResult,
) {
    let pending = h.begin(user, Google, Some("email")).await;
    let requested = pending.authorize_query["scope"].clone();
    let grant: Vec<&str> = requested.split(' ').collect();
    let params = h.consent(&pending, user, Some(&grant)).await;
    let result = h
        .broker()
        .complete_callback(Google, params, Some(&pending.cookie), &client_info())
        .await
        .unwrap();
    (pending.authorize_query, result)
}

/// The flow's nonce goes to the provider with an `openid` request and comes back to the
/// identity check, which is told no nonce when none was sent.
async fn the_nonce_sent_with_openid_is_the_one_identity_checks(mode: Mode) {
    let mut h = Harness::start(mode).await;
    for (user, implicit, with_nonce) in [("alice", "openid", true), ("bob", "", false)] {
        let tweaked = std::sync::Arc::new(sandbox_as_google(&h, implicit));
        h.rebuild_with(tweaked.clone());
        let (query, result) = connect_granting_all(&h, user).await;
        let sent = query.get("nonce").cloned();
        assert_eq!(sent.is_some(), with_nonce, "{query:?}");
        assert_eq!(
            result.outcome,
            ConnectOutcome::Connected,
            "{}",
            result.message
        );
        assert_eq!(*tweaked.identity_nonces.lock().unwrap(), vec![sent]);
    }
}

/// An answer the provider cannot vouch for (its ID token did not verify) fails the connect
/// with the provider's reason, and nothing is stored.
async fn an_untrusted_identity_fails_the_connect_and_stores_nothing(mode: Mode) {
    let mut h = Harness::start(mode).await;
    let refusal = "the ID token cannot be trusted: its signature does not verify";
    h.rebuild_with(std::sync::Arc::new(common::Tweaked {
        identity_refused: Some(tether_core::provider::ProviderError::Upstream {
            status: None,
            retry_after: None,
            message: refusal.to_owned(),
        }),
        ..sandbox_as_google(&h, "openid")
    }));
    let (_, result) = connect_granting_all(&h, "alice").await;
    assert_eq!(result.outcome, ConnectOutcome::Error, "{}", result.message);
    assert!(
        result.message.contains("Could not identify the account")
            && result.message.contains(refusal),
        "{}",
        result.message
    );
    assert!(
        result
            .redirect_to
            .unwrap()
            .as_str()
            .contains("outcome=error")
    );
    assert_nothing_stored(&h).await;
}

/// A refused connection leaves no integration, token or consent behind.
async fn assert_nothing_stored(h: &Harness) {
    for table in ["integrations", "tokens", "consents"] {
        assert_eq!(h.count(table).await, 0, "{table} must stay empty");
    }
}

async fn callback(h: &Harness, scopes: &str, granted: &[&str]) -> tether_broker::CallbackResult {
    let pending = h.begin("alice", Google, Some(scopes)).await;
    let params = h.consent(&pending, "alice", Some(granted)).await;
    h.broker()
        .complete_callback(Google, params, Some(&pending.cookie), &client_info())
        .await
        .unwrap()
}

async fn a_required_scope_added_to_every_request_must_still_be_granted(mode: Mode) {
    let mut h = Harness::start(mode).await;
    with_required_implicit_scope(&mut h);
    let result = callback(&h, "email items.read", &["email", "items.read"]).await;
    assert_eq!(
        result.outcome,
        ConnectOutcome::InsufficientScopes,
        "{}",
        result.message
    );
    assert!(result.message.contains("profile"), "{}", result.message);
    assert_nothing_stored(&h).await;
}

async fn a_reconnect_that_loses_a_required_scope_leaves_the_integration_insufficient(mode: Mode) {
    let h = Harness::start(mode).await;
    let id = h
        .connect("alice", Google, "alice")
        .await
        .integration_id
        .unwrap();
    let result = callback(&h, "email items.read", &["email", "items.read"]).await;
    assert_eq!(result.outcome, ConnectOutcome::InsufficientScopes);
    assert_eq!(result.integration_id, Some(id), "the same integration");
    let integration = h.integration(id).await;
    assert_eq!(integration.status, IntegrationStatus::InsufficientScopes);
    assert_eq!(
        integration.granted_scopes.to_delimited(),
        "email items.read",
        "what the provider granted this time"
    );
    // Callers get a clear error naming what the user must grant, not a token.
    let read = h
        .broker()
        .access_token(id, &tether_core::audit::Actor::System, None)
        .await;
    match read {
        Err(tether_broker::BrokerError::InsufficientScopes { missing, .. }) => {
            assert_eq!(missing.to_delimited(), "profile");
        }
        other => panic!("expected insufficient scopes, got {other:?}"),
    }
    // Reconnecting with everything granted makes it usable again, with the same id.
    let again = h.connect("alice", Google, "alice").await;
    assert_eq!(again.outcome, ConnectOutcome::Connected);
    assert_eq!(again.integration_id, Some(id));
    assert_eq!(h.integration(id).await.status, IntegrationStatus::Active);
    assert!(
        h.broker()
            .access_token(id, &tether_core::audit::Actor::System, None)
            .await
            .is_ok()
    );
}

async fn consents_carry_the_configured_version_and_expiry(mode: Mode) {
    let h = Harness::with(mode, 1, |c| {
        c.consent_version = "2026-12".into();
        c.consent_validity = Some(std::time::Duration::from_secs(86_400));
        c.consent_validity_by_provider
            .insert(Microsoft, std::time::Duration::from_secs(30 * 86_400));
    })
    .await;
    for (kind, days) in [(Google, 1), (Microsoft, 30)] {
        let id = h
            .connect("alice", kind, "alice")
            .await
            .integration_id
            .unwrap();
        let consent = h.store.list_for_integration(id).await.unwrap().remove(0);
        assert_eq!(consent.consent_version, "2026-12");
        let validity = consent.expires_at.unwrap() - consent.granted_at;
        assert_eq!(validity, chrono::Duration::days(days), "{kind}");
    }
}

both_modes!(
    consents_carry_the_configured_version_and_expiry,
    a_required_scope_added_to_every_request_must_still_be_granted,
    a_reconnect_that_loses_a_required_scope_leaves_the_integration_insufficient,
    a_full_connect_stores_the_integration_tokens_consent_and_audit,
    a_reused_state_is_rejected,
    an_expired_flow_is_rejected,
    a_missing_or_wrong_browser_binding_is_rejected,
    a_state_issued_for_one_provider_is_rejected_on_another_providers_callback,
    an_issuer_mismatch_is_rejected,
    a_user_who_denies_gets_the_denied_outcome,
    granting_fewer_optional_scopes_records_the_granted_subset,
    a_missing_required_scope_gives_insufficient_scopes_and_stores_nothing,
    the_same_account_connected_twice_is_one_integration_with_the_same_id,
    reconnecting_after_reauth_required_keeps_the_id,
    two_accounts_of_one_provider_are_two_integrations,
    a_second_user_cannot_link_an_account_another_user_linked,
    malformed_callback_input_is_refused_and_only_audited,
    return_to_outside_the_allowlist_is_refused,
    the_nonce_sent_with_openid_is_the_one_identity_checks,
    an_untrusted_identity_fails_the_connect_and_stores_nothing,
);
