//! The admin overview's refresh scheduler lag and recent refresh failures.

use super::*;
use tether_core::audit::AuditEvent;
use tether_core::integration::{IntegrationStatus, NewIntegration};
use tether_core::ports::IntegrationRepository;
use tether_core::scope::ScopeSet;
use tether_core::{IntegrationId, ProviderKind, UserId};

fn integration(user: &str, next_refresh_at: chrono::DateTime<chrono::Utc>) -> NewIntegration {
    let scopes = ScopeSet::parse_delimited("openid email").unwrap();
    NewIntegration {
        id: IntegrationId::new(),
        user_id: UserId::parse(user).unwrap(),
        provider: ProviderKind::Google,
        provider_account_id: format!("acct-{user}"),
        account_label: None,
        status: IntegrationStatus::Active,
        requested_scopes: scopes.clone(),
        granted_scopes: scopes,
        metadata: serde_json::json!({}),
        next_refresh_at: Some(next_refresh_at),
    }
}

async fn add(console: &Console, new: NewIntegration) -> tether_core::Integration {
    IntegrationRepository::create(console.store.as_ref(), new)
        .await
        .unwrap()
}

async fn the_overview_shows_the_scheduler_lag_and_recent_refresh_failures(db: TestDb) {
    let console = Console::start(db, default_limits()).await;
    let mut jar = console.signed_in("root", ADMIN_PASSWORD).await;
    let (_, page, _) = console.get(&mut jar, "/console").await;
    assert!(page.contains("No refresh is due"), "{page}");
    assert!(page.contains("No refresh has failed."));

    let now = console.clock_now();
    let late = add(&console, integration("u1", now - Duration::minutes(10))).await;
    add(&console, integration("u2", now - Duration::seconds(30))).await;
    add(&console, integration("u3", now + Duration::minutes(30))).await;
    let mut failed = AuditEvent::new(Actor::System, AuditAction::RefreshFailed)
        .failed("Google answered 503 <again>");
    failed.integration_id = Some(late.id);
    failed.user_id = Some(late.user_id.clone());
    failed.provider = Some(ProviderKind::Google);
    console.store.append(&failed).await.unwrap();

    let (status, page, _) = console.get(&mut jar, "/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("2 due; the oldest has waited 10 min."),
        "{page}"
    );
    assert!(page.contains("Google answered 503 &lt;again&gt;"));
    assert!(page.contains(&format!("href=\"/console/integrations/{}\"", late.id)));

    console.clock.advance(Duration::hours(3));
    let (_, page, _) = console.get(&mut jar, "/console").await;
    assert!(
        page.contains("3 due; the oldest has waited 3 h 10 min."),
        "{page}"
    );
}

tether_testkit::engine_tests!(the_overview_shows_the_scheduler_lag_and_recent_refresh_failures);
