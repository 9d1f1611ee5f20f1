//! ConsentRepository: recorded per grant, listed oldest first, revoked not deleted.

use tether_core::ports::{ConsentRepository, IntegrationRepository};
use tether_testkit::TestDb;

use crate::common::*;

async fn consents_are_recorded_listed_and_revoked(db: TestDb) {
    let store = store(&db);
    let new = new_integration("u1", "acct");
    store.create(new.clone()).await.unwrap();
    let mut older = consent_for(&new);
    older.granted_at = at(-60);
    older.expires_at = Some(at(600));
    let newer = consent_for(&new);
    let b = store.record(newer.clone()).await.unwrap();
    let a = store.record(older.clone()).await.unwrap();
    assert_eq!(a.scopes, older.scopes);
    assert_eq!(a.expires_at, older.expires_at);
    assert_eq!(a.ip_address.as_deref(), Some("203.0.113.7"));
    assert_eq!(a.consent_version, "2026-01");
    assert_eq!(store.list_for_integration(new.id).await.unwrap(), [a, b]);

    let when = at(1);
    assert_eq!(store.revoke_for_integration(new.id, when).await.unwrap(), 2);
    assert_eq!(
        store.revoke_for_integration(new.id, at(2)).await.unwrap(),
        0
    );
    let listed = store.list_for_integration(new.id).await.unwrap();
    assert_eq!(listed.len(), 2, "revoked consents are kept");
    assert!(listed.iter().all(|c| c.revoked_at == Some(when)));
}

tether_testkit::engine_tests!(consents_are_recorded_listed_and_revoked);
