//! ConsoleRepository and IntegrationOverview: accounts with grants, sessions by token hash,
//! expiry, ending sessions, and the overview's counts.

use chrono::Duration;
use tether_core::ProviderKind;
use tether_core::StorageError;
use tether_core::console::{ConsoleGrant, ConsoleRole, NewConsoleAccount, Username};
use tether_core::integration::IntegrationStatus;
use tether_core::ports::{
    ConsoleRepository, IntegrationOverview, IntegrationRepository, IntegrationSearch,
    RefreshBacklog,
};
use tether_testkit::TestDb;

use crate::common::*;

fn new_account(name: &str, role: ConsoleRole, grants: &str) -> NewConsoleAccount {
    NewConsoleAccount {
        username: Username::parse(name).unwrap(),
        role,
        password_hash: format!("$argon2id$fake-{name}"),
        grants: ConsoleGrant::parse_list(grants).unwrap(),
    }
}

async fn console_accounts_keep_their_grants_and_unique_names(db: TestDb) {
    let store = store(&db);
    let now = at(0);
    let admin = store
        .create_account(new_account("Root", ConsoleRole::Admin, ""), now)
        .await
        .unwrap();
    assert_eq!(admin.username.as_str(), "root");
    let staff = store
        .create_account(
            new_account("sam", ConsoleRole::Staff, "openemr:clinic-a notion"),
            now,
        )
        .await
        .unwrap();
    assert_eq!(staff.grants.len(), 2);
    let err = store
        .create_account(new_account("ROOT", ConsoleRole::Staff, ""), now)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Duplicate { .. }), "{err:?}");

    let found = store
        .account_by_username(&Username::parse("sam").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, staff);
    let listed: Vec<_> = store
        .list_accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.username.to_string(), a.grants.len()))
        .collect();
    assert_eq!(listed, [("root".to_owned(), 0), ("sam".to_owned(), 2)]);

    let grants = ConsoleGrant::parse_list("openemr:clinic-b").unwrap();
    let later = now + Duration::minutes(1);
    assert!(store.set_grants(staff.id, &grants, later).await.unwrap());
    let after = store.account(staff.id).await.unwrap().unwrap();
    assert_eq!(after.grants, grants);
    assert_eq!(after.updated_at, later);
    assert!(
        !store
            .set_grants(tether_core::ConsoleAccountId::new(), &grants, now)
            .await
            .unwrap()
    );
}

async fn console_sessions_expire_and_end_with_disable_and_password_change(db: TestDb) {
    let store = store(&db);
    let now = at(0);
    let account = store
        .create_account(new_account("ada", ConsoleRole::Admin, ""), now)
        .await
        .unwrap();
    let session = store
        .create_session(account.id, "hash-a", now, now + Duration::hours(1))
        .await
        .unwrap();
    store
        .create_session(account.id, "hash-b", now, now + Duration::hours(1))
        .await
        .unwrap();
    let (found, owner) = store
        .session_by_token_hash("hash-a", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, session);
    assert_eq!(owner.id, account.id);
    assert!(
        store
            .session_by_token_hash("nope", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session_by_token_hash("hash-a", now + Duration::hours(1))
            .await
            .unwrap()
            .is_none(),
        "a session is over at its expiry"
    );

    assert!(store.delete_session(session.id).await.unwrap());
    assert!(
        store
            .session_by_token_hash("hash-a", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session_by_token_hash("hash-b", now)
            .await
            .unwrap()
            .is_some()
    );

    assert!(
        store
            .set_password_hash(account.id, "$argon2id$new", now)
            .await
            .unwrap()
    );
    assert!(
        store
            .session_by_token_hash("hash-b", now)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .account(account.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$new"
    );

    store
        .create_session(account.id, "hash-c", now, now + Duration::hours(1))
        .await
        .unwrap();
    assert!(store.set_disabled(account.id, true, now).await.unwrap());
    assert!(
        store
            .session_by_token_hash("hash-c", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .account(account.id)
            .await
            .unwrap()
            .unwrap()
            .is_disabled()
    );
    assert!(store.set_disabled(account.id, false, now).await.unwrap());
    assert!(
        !store
            .account(account.id)
            .await
            .unwrap()
            .unwrap()
            .is_disabled()
    );

    store
        .create_session(account.id, "hash-d", now, now + Duration::minutes(5))
        .await
        .unwrap();
    store
        .create_session(account.id, "hash-e", now, now + Duration::hours(5))
        .await
        .unwrap();
    assert_eq!(
        store
            .purge_expired_sessions(now + Duration::minutes(10))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.delete_sessions(account.id).await.unwrap(), 1);
}

async fn the_overview_counts_integrations_and_lists_those_needing_attention(db: TestDb) {
    let store = store(&db);
    let first = store.create(new_integration("u1", "acct-1")).await.unwrap();
    store.create(new_integration("u2", "acct-2")).await.unwrap();
    let mut broken = new_integration("u3", "acct-3");
    broken.provider = ProviderKind::Dexcom;
    broken.status = IntegrationStatus::ReauthRequired;
    let broken = store.create(broken).await.unwrap();

    let counts: Vec<_> = store
        .integration_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.provider, c.status, c.count))
        .collect();
    assert!(
        counts.contains(&(ProviderKind::Google, IntegrationStatus::Active, 2)),
        "{counts:?}"
    );
    assert!(counts.contains(&(ProviderKind::Dexcom, IntegrationStatus::ReauthRequired, 1)));
    assert_eq!(counts.len(), 2);

    let attention = store.needing_attention(10).await.unwrap();
    assert_eq!(
        attention.iter().map(|i| i.id).collect::<Vec<_>>(),
        [broken.id]
    );
    assert_ne!(attention[0].id, first.id);
}

async fn the_console_search_narrows_by_each_filter_and_pages(db: TestDb) {
    let store = store(&db);
    let alice = store
        .create(new_integration("alice", "Alice.Work"))
        .await
        .unwrap();
    let mut dexcom = new_integration("alice", "alice-cgm");
    dexcom.provider = ProviderKind::Dexcom;
    dexcom.status = IntegrationStatus::ReauthRequired;
    let dexcom = store.create(dexcom).await.unwrap();
    // `_` and `%` in the text are matched literally, not as wildcards.
    let bob = store
        .create(new_integration("bob", "bob_100%"))
        .await
        .unwrap();
    let ids = |found: Vec<tether_core::Integration>| {
        let mut ids: Vec<_> = found.into_iter().map(|i| i.id).collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<tether_core::IntegrationId>| {
        v.sort();
        v
    };
    let all = IntegrationSearch {
        limit: 50,
        ..IntegrationSearch::default()
    };
    assert_eq!(ids(store.search(&all).await.unwrap()).len(), 3);
    let by_user = IntegrationSearch {
        user_id: Some(tether_core::UserId::parse("alice").unwrap()),
        ..all.clone()
    };
    assert_eq!(
        ids(store.search(&by_user).await.unwrap()),
        sorted(vec![alice.id, dexcom.id])
    );
    let by_provider_and_status = IntegrationSearch {
        provider: Some(ProviderKind::Dexcom),
        status: Some(IntegrationStatus::ReauthRequired),
        ..all.clone()
    };
    assert_eq!(
        ids(store.search(&by_provider_and_status).await.unwrap()),
        [dexcom.id]
    );
    let wrong_status = IntegrationSearch {
        status: Some(IntegrationStatus::Revoked),
        ..by_provider_and_status
    };
    assert!(store.search(&wrong_status).await.unwrap().is_empty());
    let by_account = IntegrationSearch {
        account: Some("ALICE.w".to_owned()),
        ..all.clone()
    };
    assert_eq!(ids(store.search(&by_account).await.unwrap()), [alice.id]);
    let literal = IntegrationSearch {
        account: Some("b_1".to_owned()),
        ..all.clone()
    };
    assert_eq!(ids(store.search(&literal).await.unwrap()), [bob.id]);
    let wildcard = IntegrationSearch {
        account: Some("%".to_owned()),
        ..all.clone()
    };
    assert_eq!(ids(store.search(&wildcard).await.unwrap()), [bob.id]);
    let first = IntegrationSearch {
        limit: 2,
        ..all.clone()
    };
    let second = IntegrationSearch {
        offset: 2,
        ..first.clone()
    };
    let mut pages = ids(store.search(&first).await.unwrap());
    pages.extend(ids(store.search(&second).await.unwrap()));
    assert_eq!(
        sorted(pages),
        sorted(vec![alice.id, dexcom.id, bob.id]),
        "two pages cover everything once"
    );
}

async fn the_refresh_backlog_counts_due_usable_integrations_and_the_oldest(db: TestDb) {
    let store = store(&db);
    let now = at(0);
    assert_eq!(
        store.refresh_backlog(now).await.unwrap(),
        RefreshBacklog::default(),
        "nothing due"
    );
    let oldest = now - Duration::minutes(30);
    for (user, due_at, status) in [
        ("u1", Some(oldest), IntegrationStatus::Degraded),
        (
            "u2",
            Some(now - Duration::minutes(5)),
            IntegrationStatus::Active,
        ),
        (
            "u3",
            Some(now + Duration::minutes(5)),
            IntegrationStatus::Active,
        ),
        (
            "u4",
            Some(now - Duration::hours(5)),
            IntegrationStatus::ReauthRequired,
        ),
        ("u5", None, IntegrationStatus::Active),
    ] {
        let mut new = new_integration(user, &format!("acct-{user}"));
        new.next_refresh_at = due_at;
        new.status = status;
        store.create(new).await.unwrap();
    }
    assert_eq!(
        store.refresh_backlog(now).await.unwrap(),
        RefreshBacklog {
            due: 2,
            oldest_due_at: Some(oldest),
        },
        "usable and due only: not the future one, not the one waiting for a reconnect"
    );
    assert_eq!(
        store
            .refresh_backlog(now - Duration::minutes(10))
            .await
            .unwrap()
            .due,
        1
    );
}

tether_testkit::engine_tests!(
    the_console_search_narrows_by_each_filter_and_pages,
    console_accounts_keep_their_grants_and_unique_names,
    the_refresh_backlog_counts_due_usable_integrations_and_the_oldest,
    console_sessions_expire_and_end_with_disable_and_password_change,
    the_overview_counts_integrations_and_lists_those_needing_attention,
);
