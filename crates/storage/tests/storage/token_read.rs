//! `TokenRepository::read_for_access`: the token read's one-query hot path.

use tether_core::ports::{IntegrationRepository, TokenRepository};
use tether_core::token::TokenOwner;
use tether_core::{IntegrationId, StorageError};
use tether_testkit::TestDb;

use crate::common::*;

async fn a_read_returns_the_integration_and_its_access_token_in_one_go(db: TestDb) {
    let store = store(&db);
    let integration = store.create(new_integration("u1", "acct")).await.unwrap();
    let owner = TokenOwner::Integration(integration.id);
    let tokens = token_set("access-1", Some("refresh-1"));
    store.save(&owner, &tokens, None).await.unwrap();
    let saved = store
        .save(&owner, &token_set("access-2", Some("refresh-2")), Some(1))
        .await
        .unwrap();

    let read = store
        .read_for_access(integration.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.integration, integration);
    let access = read.access.unwrap();
    assert_eq!(access.access_token.expose_secret(), "access-2");
    assert_eq!(access.token_type, saved.tokens.token_type);
    assert_eq!(access.expires_at, saved.tokens.expires_at);
    assert_eq!(access.scope, saved.tokens.scope);
    assert_eq!(access.version, 2);
}

async fn an_integration_without_tokens_reads_with_no_access_and_a_missing_one_as_none(db: TestDb) {
    let store = store(&db);
    let integration = store.create(new_integration("u1", "acct")).await.unwrap();
    // An app token row (no integration) must not be joined to anything.
    store
        .save(
            &TokenOwner::App {
                provider: tether_core::ProviderKind::Google,
                key: "app".to_owned(),
            },
            &token_set("app-token", None),
            None,
        )
        .await
        .unwrap();
    let read = store
        .read_for_access(integration.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.integration.id, integration.id);
    assert!(read.access.is_none());
    assert!(
        store
            .read_for_access(IntegrationId::new())
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_read_does_not_decrypt_the_refresh_token(db: TestDb) {
    let store = store(&db);
    let integration = store.create(new_integration("u1", "acct")).await.unwrap();
    let owner = TokenOwner::Integration(integration.id);
    store
        .save(&owner, &token_set("access-1", Some("refresh-1")), None)
        .await
        .unwrap();
    raw_exec(
        &db,
        "UPDATE tokens SET refresh_token = 'not a ciphertext' WHERE integration_id = $1",
        vec![integration.id.as_uuid().into()],
    )
    .await;
    // The full read decrypts the refresh token and fails; the hot path never touches it.
    let err = TokenRepository::get(&store, &owner).await.unwrap_err();
    assert!(matches!(err, StorageError::Decrypt { .. }), "{err:?}");
    let read = store
        .read_for_access(integration.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read.access.unwrap().access_token.expose_secret(),
        "access-1"
    );
}

/// Puts `from`'s access-token ciphertext into `to`'s token row.
async fn copy_access_token(db: &TestDb, from: IntegrationId, to: IntegrationId) {
    let rows = raw_query(
        db,
        "SELECT access_token FROM tokens WHERE integration_id = $1",
        vec![from.as_uuid().into()],
    )
    .await;
    let stolen: String = rows[0].try_get("", "access_token").unwrap();
    raw_exec(
        db,
        "UPDATE tokens SET access_token = $1 WHERE integration_id = $2",
        vec![stolen.into(), to.as_uuid().into()],
    )
    .await;
}

/// Integrations `a` (of u1) and `b` (of u2), with access tokens `token-of-a` and `token-of-b`.
async fn two_with_tokens(
    store: &tether_storage::SqlStore,
) -> (tether_core::Integration, tether_core::Integration) {
    let a = store.create(new_integration("u1", "a")).await.unwrap();
    let b = store.create(new_integration("u2", "b")).await.unwrap();
    for (id, token) in [(a.id, "token-of-a"), (b.id, "token-of-b")] {
        store
            .save(&TokenOwner::Integration(id), &token_set(token, None), None)
            .await
            .unwrap();
    }
    (a, b)
}

async fn an_access_token_copied_from_another_row_is_refused(db: TestDb) {
    let store = store(&db);
    let (a, b) = two_with_tokens(&store).await;
    copy_access_token(&db, a.id, b.id).await;
    let err = store.read_for_access(b.id).await.unwrap_err();
    match err {
        StorageError::Decrypt { reason, .. } => assert_eq!(reason, "it belongs to another row"),
        other => panic!("expected a decrypt error, got {other:?}"),
    }
}

/// Several integrations in one query: each read as the single read would, a row that cannot
/// be read failing alone, missing ones left out.
async fn reads_of_several_integrations_share_one_query_and_fail_alone(db: TestDb) {
    let store = store(&db);
    let (a, b) = two_with_tokens(&store).await;
    let bare = store.create(new_integration("u3", "bare")).await.unwrap();
    let unknown = IntegrationId::new();
    let ids = [a.id, b.id, bare.id, unknown];
    let mut reads = store.read_for_access_many(&ids).await.unwrap();
    reads.sort_by_key(|(id, _)| *id);
    assert_eq!(
        reads.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        [a.id, b.id, bare.id],
        "the unknown id is left out"
    );
    for (id, read) in &reads {
        let single = store.read_for_access(*id).await.unwrap().unwrap();
        assert_eq!(read.as_ref().unwrap(), &single);
    }
    assert_eq!(
        reads[1]
            .1
            .as_ref()
            .unwrap()
            .access
            .as_ref()
            .unwrap()
            .access_token
            .expose_secret(),
        "token-of-b"
    );

    // b's access token is replaced by a's ciphertext: b fails, a still reads.
    copy_access_token(&db, a.id, b.id).await;
    let reads = store.read_for_access_many(&[a.id, b.id]).await.unwrap();
    assert_eq!(reads.len(), 2);
    for (id, read) in reads {
        if id == b.id {
            assert!(
                matches!(read, Err(StorageError::Decrypt { .. })),
                "{read:?}"
            );
        } else {
            assert_eq!(
                read.unwrap().access.unwrap().access_token.expose_secret(),
                "token-of-a"
            );
        }
    }
    assert!(store.read_for_access_many(&[]).await.unwrap().is_empty());
}

tether_testkit::engine_tests!(
    reads_of_several_integrations_share_one_query_and_fail_alone,
    a_read_returns_the_integration_and_its_access_token_in_one_go,
    an_integration_without_tokens_reads_with_no_access_and_a_missing_one_as_none,
    a_read_does_not_decrypt_the_refresh_token,
    an_access_token_copied_from_another_row_is_refused,
);
