//! Key rotation and the start-up key check.

use tether_core::ports::{
    IntegrationRepository, OAuthStateRepository, ProviderConfigRepository, TokenRepository,
};
use tether_core::provider_config::ProviderConfigInput;
use tether_core::secret::{ClientSecret, EncryptionKey, OpaqueSecret, WebhookSecret};
use tether_core::token::TokenOwner;
use tether_core::webhooks::{NewWebhookEndpoint, WebhookRepository};
use tether_core::{ProviderKind, StorageError, WebhookEndpointId};
use tether_storage::{CipherContext, SqlStore, TokenCipher, check_keys, rotate_keys};
use tether_testkit::TestDb;
use uuid::Uuid;

use crate::common::*;

fn config(instance: &str, secret: Option<&str>) -> ProviderConfigInput {
    ProviderConfigInput {
        provider: ProviderKind::Openemr,
        instance: instance.to_owned(),
        client_id: "client".to_owned(),
        client_secret: secret.map(ClientSecret::new),
        redirect_base: None,
        endpoint_overrides: Default::default(),
        site_url: None,
        options: Default::default(),
        enabled: true,
    }
}

/// Five integrations with access and refresh tokens, one app token, three states, two
/// provider configs (one without a secret), a webhook endpoint whose secret was rotated: 12
/// token values (one launch context), 3 payloads, 1 client secret, 2 webhook secrets.
async fn fill(store: &SqlStore) -> Vec<TokenOwner> {
    let mut owners = Vec::new();
    for i in 0..5 {
        let integration = store
            .create(new_integration("u1", &format!("acct-{i}")))
            .await
            .unwrap();
        let owner = TokenOwner::Integration(integration.id);
        let mut tokens = token_set(&format!("access-{i}"), Some(&format!("refresh-{i}")));
        if i == 0 {
            tokens.launch_context = Some(OpaqueSecret::new(r#"{"patient":"p-1"}"#));
        }
        store.save(&owner, &tokens, None).await.unwrap();
        owners.push(owner);
    }
    let app = TokenOwner::App {
        provider: ProviderKind::Orange,
        key: "app".to_owned(),
    };
    store
        .save(&app, &token_set("app-access", None), None)
        .await
        .unwrap();
    owners.push(app);
    for key in ["s1", "s2", "s3"] {
        store
            .put(key, &OpaqueSecret::new(format!("flow-{key}")), at(10))
            .await
            .unwrap();
    }
    store
        .upsert(config("with-secret", Some("client-secret")))
        .await
        .unwrap();
    store.upsert(config("without", None)).await.unwrap();
    let endpoint = store
        .create_endpoint(NewWebhookEndpoint {
            id: WebhookEndpointId::new(),
            url: "https://hooks.example.com/".parse().unwrap(),
            description: String::new(),
            event_types: Vec::new(),
            enabled: true,
            secret: WebhookSecret::new("whsec_first"),
            at: at(0),
        })
        .await
        .unwrap();
    store
        .rotate_secret(
            endpoint.id,
            &WebhookSecret::new("whsec_second"),
            at(60),
            at(0),
        )
        .await
        .unwrap();
    owners
}

async fn rotation_reencrypts_every_secret_with_the_newest_key(db: TestDb) {
    let (k1, k2) = (TokenCipher::generate_key(), TokenCipher::generate_key());
    let owners = fill(&store_with(&db, std::slice::from_ref(&k1))).await;
    let both = [k2.clone(), k1.clone()];
    let store = store_with(&db, &both);
    for owner in &owners {
        assert!(
            TokenRepository::get(&store, owner).await.unwrap().is_some(),
            "old rows stay readable"
        );
    }
    // One value already under the newest key.
    store
        .put("s4", &OpaqueSecret::new("flow-s4"), at(10))
        .await
        .unwrap();

    let cipher = TokenCipher::new(&both).unwrap();
    let report = rotate_keys(&db.conn, &cipher, 2).await.unwrap();
    assert_eq!(report.tokens.rows_scanned, 6);
    assert_eq!(report.tokens.values_rewritten, 12);
    assert_eq!(report.tokens.values_current, 0);
    assert_eq!(report.oauth_states.rows_scanned, 4);
    assert_eq!(report.oauth_states.values_rewritten, 3);
    assert_eq!(report.oauth_states.values_current, 1);
    assert_eq!(report.provider_configs.rows_scanned, 2);
    assert_eq!(report.provider_configs.values_rewritten, 1);
    assert_eq!(report.webhook_endpoints.rows_scanned, 1);
    assert_eq!(report.webhook_endpoints.values_rewritten, 2);
    assert_eq!(report.values_rewritten(), 18);
    assert!(
        report.to_string().contains("18 values re-encrypted"),
        "{report}"
    );

    // Every raw value now opens with the new key alone.
    let only_new = TokenCipher::new(std::slice::from_ref(&k2)).unwrap();
    let mut opened = 0;
    for row in raw_query(
        &db,
        "SELECT id, access_token, refresh_token, launch_context FROM tokens",
        vec![],
    )
    .await
    {
        let id: Uuid = row.try_get("", "id").unwrap();
        let access: String = row.try_get("", "access_token").unwrap();
        only_new
            .decrypt(&CipherContext::new("tokens", "access_token", id), &access)
            .unwrap();
        opened += 1;
        if let Some(refresh) = row.try_get::<Option<String>>("", "refresh_token").unwrap() {
            let plain = only_new
                .decrypt(&CipherContext::new("tokens", "refresh_token", id), &refresh)
                .unwrap();
            assert!(plain.starts_with("refresh-"));
            opened += 1;
        }
        if let Some(context) = row.try_get::<Option<String>>("", "launch_context").unwrap() {
            let plain = only_new
                .decrypt(
                    &CipherContext::new("tokens", "launch_context", id),
                    &context,
                )
                .unwrap();
            assert_eq!(plain, r#"{"patient":"p-1"}"#);
            opened += 1;
        }
    }
    for row in raw_query(&db, "SELECT state_key, payload FROM oauth_states", vec![]).await {
        let key: String = row.try_get("", "state_key").unwrap();
        let payload: String = row.try_get("", "payload").unwrap();
        assert_eq!(
            only_new
                .decrypt(
                    &CipherContext::new("oauth_states", "payload", &key),
                    &payload
                )
                .unwrap(),
            format!("flow-{key}")
        );
        opened += 1;
    }
    let rows = raw_query(
        &db,
        "SELECT id, client_secret FROM provider_configs WHERE client_secret IS NOT NULL",
        vec![],
    )
    .await;
    for row in rows {
        let id: Uuid = row.try_get("", "id").unwrap();
        let secret: String = row.try_get("", "client_secret").unwrap();
        let ctx = CipherContext::new("provider_configs", "client_secret", id);
        assert_eq!(only_new.decrypt(&ctx, &secret).unwrap(), "client-secret");
        opened += 1;
    }
    assert_eq!(opened, 12 + 4 + 1);
    let new_only_store = store_with(&db, std::slice::from_ref(&k2));
    let endpoints = new_only_store.list_endpoints().await.unwrap();
    assert_eq!(endpoints.len(), 1);
    for endpoint in endpoints {
        let secrets = new_only_store
            .signing_secrets(endpoint.id, at(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(secrets.current.expose_secret(), "whsec_second");
        assert_eq!(secrets.previous.unwrap().expose_secret(), "whsec_first");
    }
    for owner in &owners {
        assert!(
            TokenRepository::get(&new_only_store, owner)
                .await
                .unwrap()
                .is_some()
        );
    }

    let again = rotate_keys(&db.conn, &cipher, 2).await.unwrap();
    assert_eq!(again.values_rewritten(), 0);
    assert_eq!(again.tokens.values_current, 12);
    assert_eq!(again.oauth_states.values_current, 4);
    assert_eq!(again.provider_configs.values_current, 1);
    assert_eq!(again.webhook_endpoints.values_current, 2);
}

async fn rotation_stops_at_a_value_no_key_decrypts(db: TestDb) {
    let (k1, stranger) = (TokenCipher::generate_key(), TokenCipher::generate_key());
    let store = store_with(&db, std::slice::from_ref(&k1));
    store
        .put("a", &OpaqueSecret::new("flow"), at(10))
        .await
        .unwrap();
    let foreign = store_with(&db, &[stranger]);
    let integration = store.create(new_integration("u1", "acct")).await.unwrap();
    let row = foreign
        .save(
            &TokenOwner::Integration(integration.id),
            &token_set("x", None),
            None,
        )
        .await
        .unwrap()
        .id;
    let cipher = TokenCipher::new(&[TokenCipher::generate_key(), k1]).unwrap();
    match rotate_keys(&db.conn, &cipher, 10).await.unwrap_err() {
        StorageError::Decrypt {
            table, row: named, ..
        } => {
            assert_eq!(table, "tokens");
            assert_eq!(named, row.to_string());
        }
        other => panic!("expected Decrypt, got {other:?}"),
    }
}

async fn the_key_check_notices_when_no_stored_secret_is_readable(db: TestDb) {
    let key = TokenCipher::generate_key();
    let right = TokenCipher::new(std::slice::from_ref(&key)).unwrap();
    let wrong = TokenCipher::new(&[TokenCipher::generate_key()]).unwrap();
    let empty = check_keys(&db.conn, &wrong).await.unwrap();
    assert_eq!(empty.sampled, 0);
    assert!(
        !empty.all_unreadable(),
        "an empty database is fine with any key"
    );

    fill(&store_with(&db, std::slice::from_ref(&key))).await;
    let bad = check_keys(&db.conn, &wrong).await.unwrap();
    assert_eq!(bad.sampled, 16);
    assert_eq!(bad.decryptable, 0);
    assert!(bad.all_unreadable());
    let good = check_keys(&db.conn, &right).await.unwrap();
    assert_eq!((good.sampled, good.decryptable), (16, 16));
    assert!(!good.all_unreadable());
    let rotated: [EncryptionKey; 2] = [TokenCipher::generate_key(), key];
    assert!(
        !check_keys(&db.conn, &TokenCipher::new(&rotated).unwrap())
            .await
            .unwrap()
            .all_unreadable()
    );
}

tether_testkit::engine_tests!(
    rotation_reencrypts_every_secret_with_the_newest_key,
    rotation_stops_at_a_value_no_key_decrypts,
    the_key_check_notices_when_no_stored_secret_is_readable,
);
