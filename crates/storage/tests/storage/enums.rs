//! Every stored enum value survives a trip through the database on both engines.

use tether_core::api_key::{ApiKeyRole, NewApiKey};
use tether_core::audit::{Actor, AuditAction, AuditEvent, AuditQuery};
use tether_core::integration::IntegrationStatus;
use tether_core::ports::{
    ApiKeyRepository, AuditRepository, IntegrationRepository, ScopeCatalogRepository,
};
use tether_core::scope_catalog::{ScopeCatalogEntry, ScopeCategory};
use tether_core::{ApiKeyId, ProviderKind, Scope};
use tether_testkit::TestDb;

use crate::common::{new_integration, store, user};

async fn every_provider_and_status_round_trips_through_integration_rows(db: TestDb) {
    let store = store(&db);
    for (i, provider) in ProviderKind::ALL.iter().enumerate() {
        for (j, status) in IntegrationStatus::ALL.iter().enumerate() {
            let mut new = new_integration("u", &format!("acct-{i}-{j}"));
            new.provider = *provider;
            new.status = *status;
            let created = IntegrationRepository::create(&store, new).await.unwrap();
            let read = IntegrationRepository::get(&store, created.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!((read.provider, read.status), (*provider, *status));
        }
    }
}

async fn every_audit_action_and_actor_kind_round_trips_through_audit_rows(db: TestDb) {
    let store = store(&db);
    let actors = [
        Actor::User(user("u")),
        Actor::ApiKey(ApiKeyId::new()),
        Actor::System,
    ];
    for (i, action) in AuditAction::ALL.iter().enumerate() {
        let actor = actors[i % actors.len()].clone();
        store
            .append(&AuditEvent::new(actor, *action))
            .await
            .unwrap();
    }
    let records = store
        .query(&AuditQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut stored: Vec<_> = records.iter().map(|r| r.event.action).collect();
    stored.sort();
    let mut expected = AuditAction::ALL.to_vec();
    expected.sort();
    assert_eq!(stored, expected);
    for record in &records {
        let i = AuditAction::ALL
            .iter()
            .position(|a| *a == record.event.action)
            .unwrap();
        assert_eq!(record.event.actor.kind(), actors[i % actors.len()].kind());
    }
}

async fn every_api_key_role_and_scope_category_round_trips(db: TestDb) {
    let store = store(&db);
    for role in ApiKeyRole::ALL {
        let key = ApiKeyRepository::create(
            &store,
            NewApiKey {
                name: role.to_string(),
                role: *role,
                prefix: "tk_x".into(),
                key_hash: format!("hash-{role}"),
            },
        )
        .await
        .unwrap();
        let found = store
            .find_active_by_hash(&key.key_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.role, *role);
    }
    let entries: Vec<_> = ScopeCategory::ALL
        .iter()
        .map(|category| ScopeCatalogEntry {
            provider: ProviderKind::Google,
            scope: Scope::parse(format!("scope.{category}")).unwrap(),
            display_name: category.to_string(),
            description: String::new(),
            category: *category,
            is_required: false,
            is_dangerous: false,
        })
        .collect();
    store.sync(ProviderKind::Google, &entries).await.unwrap();
    let listed = ScopeCatalogRepository::list(&store, Some(ProviderKind::Google))
        .await
        .unwrap();
    let mut categories: Vec<_> = listed.iter().map(|e| e.category).collect();
    categories.sort();
    assert_eq!(categories, ScopeCategory::ALL.to_vec());
}

tether_testkit::engine_tests!(
    every_provider_and_status_round_trips_through_integration_rows,
    every_audit_action_and_actor_kind_round_trips_through_audit_rows,
    every_api_key_role_and_scope_category_round_trips,
);
