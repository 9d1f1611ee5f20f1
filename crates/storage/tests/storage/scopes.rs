//! ScopeCatalogRepository: sync makes the stored catalogue equal to the given one.

use tether_core::ports::{CatalogSyncReport, ScopeCatalogRepository};
use tether_core::scope_catalog::{ScopeCatalogEntry, ScopeCategory};
use tether_core::{ProviderKind, Scope};
use tether_testkit::TestDb;

use crate::common::*;

fn entry(provider: ProviderKind, scope: &str, description: &str) -> ScopeCatalogEntry {
    ScopeCatalogEntry {
        provider,
        scope: Scope::parse(scope).unwrap(),
        display_name: scope.to_uppercase(),
        description: description.to_owned(),
        category: ScopeCategory::Read,
        is_required: scope == "openid",
        is_dangerous: false,
    }
}

fn report(inserted: u64, updated: u64, removed: u64) -> CatalogSyncReport {
    CatalogSyncReport {
        inserted,
        updated,
        removed,
    }
}

async fn sync_inserts_updates_and_removes_and_reports_counts(db: TestDb) {
    let store = store(&db);
    let google = ProviderKind::Google;
    let first = vec![
        entry(google, "openid", "who you are"),
        entry(google, "email", "your address"),
        entry(google, "calendar", "your calendar"),
    ];
    assert_eq!(store.sync(google, &first).await.unwrap(), report(3, 0, 0));
    assert_eq!(store.sync(google, &first).await.unwrap(), report(0, 0, 0));
    let notion = vec![entry(ProviderKind::Notion, "read_content", "pages")];
    assert_eq!(
        store.sync(ProviderKind::Notion, &notion).await.unwrap(),
        report(1, 0, 0)
    );

    let mut changed_email = entry(google, "email", "your e-mail address");
    changed_email.category = ScopeCategory::Write;
    changed_email.is_dangerous = true;
    let second = vec![
        entry(google, "openid", "who you are"),
        changed_email.clone(),
        entry(google, "drive", "your files"),
    ];
    assert_eq!(store.sync(google, &second).await.unwrap(), report(1, 1, 1));

    let listed = store.list(Some(google)).await.unwrap();
    let names: Vec<_> = listed.iter().map(|e| e.scope.as_str()).collect();
    assert_eq!(names, ["drive", "email", "openid"]);
    assert_eq!(listed[1], changed_email);
    let everything: Vec<_> = store
        .list(None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.provider)
        .collect();
    assert_eq!(everything, [google, google, google, ProviderKind::Notion]);

    assert_eq!(store.sync(google, &[]).await.unwrap(), report(0, 0, 3));
    assert_eq!(
        store.list(None).await.unwrap().len(),
        1,
        "other providers untouched"
    );
}

tether_testkit::engine_tests!(sync_inserts_updates_and_removes_and_reports_counts);
