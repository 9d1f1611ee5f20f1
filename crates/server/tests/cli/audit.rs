//! Operator commands leave audit records naming the operator: `migrate`, `api-keys
//! create|revoke`, `keys rotate`, `webhooks` and `openemr register`.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;

use crate::support::{Scratch, new_key, store_secret_encrypted_with};

/// `(actor, actor_id, action, success, detail)` of every audit record, oldest first.
pub async fn audit_rows(scratch: &Scratch) -> Vec<(String, String, String, bool, Value)> {
    let url = format!(
        "sqlite://{}?mode=rwc",
        scratch.data_dir().join("tether.db").display()
    );
    let conn = tether_storage::connect(&url, tether_storage::PoolOptions::default())
        .await
        .unwrap();
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT actor, actor_id, action, success, detail FROM audit_log ORDER BY id",
        ))
        .await
        .unwrap();
    let rows = rows
        .iter()
        .map(|row| {
            let detail: Option<String> = row.try_get("", "detail").unwrap();
            (
                row.try_get("", "actor").unwrap(),
                row.try_get::<Option<String>>("", "actor_id")
                    .unwrap()
                    .unwrap_or_default(),
                row.try_get("", "action").unwrap(),
                row.try_get("", "success").unwrap(),
                detail
                    .map(|d| serde_json::from_str(&d).unwrap())
                    .unwrap_or(Value::Null),
            )
        })
        .collect();
    conn.close().await.unwrap();
    rows
}

#[tokio::test]
async fn operator_commands_are_audited_with_the_operator_as_actor() {
    let scratch = Scratch::new();
    let (old, new) = (new_key(), new_key());
    let operator = [("TETHER_OPERATOR", "alice (change 42)")];
    let with_old = [operator[0], ("TETHER_ENCRYPTION_KEYS", old.as_str())];
    scratch.run(&["migrate", "up"], &with_old).assert_ok();
    let created = scratch
        .run(
            &["api-keys", "create", "--name", "ci", "--role", "service"],
            &with_old,
        )
        .assert_ok()
        .stdout();
    let key_id = created.split_whitespace().nth(3).unwrap().to_owned();
    scratch
        .run(&["api-keys", "revoke", &key_id], &with_old)
        .assert_ok();
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        scratch.data_dir().join("tether.db").display()
    );
    store_secret_encrypted_with(&db_url, &old).await;
    let both = format!("{new},{old}");
    scratch
        .run(
            &["keys", "rotate"],
            &[operator[0], ("TETHER_ENCRYPTION_KEYS", &both)],
        )
        .assert_ok();
    // Nothing to apply: nothing changed, nothing recorded.
    scratch.run(&["migrate", "up"], &with_old).assert_ok();

    let rows = audit_rows(&scratch).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(
        actions,
        [
            "schema_migrated",
            "api_key_created",
            "api_key_revoked",
            "keys_rotated"
        ]
    );
    for (actor, actor_id, action, success, detail) in &rows {
        assert_eq!(actor, "operator", "{action}");
        assert_eq!(actor_id, "alice (change 42)", "{action}");
        assert!(success, "{action}");
        assert!(
            detail["command"].as_str().unwrap().starts_with("tether "),
            "{detail}"
        );
    }
    assert_eq!(rows[0].4["command"], "tether migrate up");
    assert!(rows[0].4["migrations_applied"].as_u64().unwrap() > 0);
    assert_eq!(rows[1].4["key_id"], key_id.as_str());
    assert_eq!(rows[1].4["role"], "service");
    assert_eq!(rows[2].4["key_id"], key_id.as_str());
    assert_eq!(rows[3].4["values_rewritten"], 1);
    assert_eq!(rows[3].4["keys_configured"], 2);
    // No secret in any record.
    let text = format!("{rows:?}");
    assert!(!text.contains("tk_"), "{text}");
    assert!(!text.contains(&old) && !text.contains(&new), "{text}");
}

#[tokio::test]
async fn without_tether_operator_the_actor_is_the_login_at_this_host() {
    let scratch = Scratch::new();
    scratch
        .run(&["migrate", "up"], &[("USER", "bob"), ("SUDO_USER", "")])
        .assert_ok();
    let rows = audit_rows(&scratch).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "operator");
    assert!(rows[0].1.starts_with("bob@"), "{:?}", rows[0]);
}

#[tokio::test]
async fn a_rollback_is_recorded_before_the_schema_changes() {
    let scratch = Scratch::new();
    let operator = [("TETHER_OPERATOR", "carol")];
    scratch.run(&["migrate", "up"], &operator).assert_ok();
    scratch
        .run(&["migrate", "down", "--steps", "1"], &operator)
        .assert_ok();
    let rows = audit_rows(&scratch).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1].2, "schema_migrated");
    assert_eq!(rows[1].4["command"], "tether migrate down");
    assert_eq!(rows[1].4["steps_requested"], 1);
}

#[tokio::test]
async fn an_openemr_registration_is_audited_without_its_secret() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let site = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/default/registration"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "client_id": "client-abc",
            "client_secret": "registration-secret-value",
            "scope": "openid fhirUser offline_access api:fhir user/Patient.read"
        })))
        .mount(&site)
        .await;
    let site_uri = site.uri();
    let register = [
        "openemr",
        "register",
        "--site",
        site_uri.as_str(),
        "--redirect-uri",
        "https://tether.example.com/api/v1/oauth/openemr/callback",
    ];
    let scratch = Scratch::new();
    let operator = [("TETHER_OPERATOR", "dana")];
    scratch.run(&["migrate", "up"], &operator).assert_ok();
    let run = scratch.run(&register, &operator);
    assert!(
        run.assert_ok()
            .stdout()
            .contains("registration-secret-value")
    );
    assert!(
        !run.stderr().contains("not in Tether's audit trail"),
        "{}",
        run.stderr()
    );
    let rows = audit_rows(&scratch).await;
    let registered = rows.iter().find(|r| r.2 == "provider_registered").unwrap();
    assert_eq!(registered.1, "dana");
    assert_eq!(registered.4["client_id"], "client-abc");
    assert_eq!(registered.4["site_url"], site.uri().as_str());
    assert!(!format!("{rows:?}").contains("registration-secret-value"));

    // Without a database the registration still prints, says it is unrecorded and creates
    // no database.
    let bare = Scratch::new();
    let run = bare.run(&register, &[]);
    assert!(
        run.assert_ok()
            .stdout()
            .contains("registration-secret-value")
    );
    assert!(
        run.stderr().contains("not in Tether's audit trail"),
        "{}",
        run.stderr()
    );
    assert!(!bare.data_dir().join("tether.db").exists());
}
