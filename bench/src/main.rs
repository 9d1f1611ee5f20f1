//! `tether-bench-seed URL KEY COUNT IDS_FILE`: writes COUNT active integrations with valid,
//! far-future access tokens and one service API key into a migrated database (through the
//! storage API, so tokens are encrypted exactly as tether stores them); writes the
//! integration ids to IDS_FILE, one per line, and prints the API key on stdout.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{Duration, Utc};
use futures::{StreamExt, TryStreamExt};
use tether_core::api_key::ApiKeyRole;
use tether_core::integration::{IntegrationStatus, NewIntegration};
use tether_core::ports::{IntegrationRepository, TokenRepository};
use tether_core::secret::{AccessToken, EncryptionKey, RefreshToken};
use tether_core::token::{TokenOwner, TokenSet};
use tether_core::{IntegrationId, ProviderKind, ScopeSet, UserId};
use tether_storage::{PoolOptions, SqlStore, TokenCipher};

type Failure = Box<dyn std::error::Error>;

struct Args {
    url: String,
    key: String,
    count: usize,
    ids_file: String,
}

fn args() -> Result<Args, Failure> {
    let mut args = std::env::args().skip(1);
    let mut next = |name: &str| args.next().ok_or(format!("missing argument {name}"));
    Ok(Args {
        url: next("URL")?,
        key: next("KEY")?,
        count: next("COUNT")?.parse()?,
        ids_file: next("IDS_FILE")?,
    })
}

async fn seed_one(store: &SqlStore, n: usize) -> Result<IntegrationId, Failure> {
    let scopes =
        ScopeSet::parse_delimited("openid email https://www.googleapis.com/auth/calendar")?;
    let integration = store
        .create(NewIntegration {
            id: IntegrationId::new(),
            user_id: UserId::parse(format!("bench-user-{n}"))?,
            provider: ProviderKind::Google,
            provider_account_id: format!("bench-account-{n}"),
            account_label: Some(format!("user{n}@example.com")),
            status: IntegrationStatus::Active,
            requested_scopes: scopes.clone(),
            granted_scopes: scopes.clone(),
            metadata: serde_json::json!({ "hd": "example.com" }),
            next_refresh_at: None,
        })
        .await?;
    let tokens = TokenSet {
        access_token: AccessToken::new(format!("ya29.bench-access-token-{n}-{}", "x".repeat(120))),
        refresh_token: Some(RefreshToken::new(format!("1//bench-refresh-token-{n}"))),
        token_type: "Bearer".to_owned(),
        expires_at: Some(Utc::now() + Duration::days(365)),
        refresh_expires_at: None,
        scope: Some(scopes),
        launch_context: None,
    };
    store
        .save(&TokenOwner::Integration(integration.id), &tokens, None)
        .await?;
    Ok(integration.id)
}

async fn run(args: Args) -> Result<(), Failure> {
    let pool = PoolOptions {
        max_connections: 8,
        ..PoolOptions::default()
    };
    let conn = tether_storage::connect(&args.url, pool).await?;
    let cipher = TokenCipher::new(&[EncryptionKey::new(args.key)])?;
    let store = Arc::new(SqlStore::new(conn, Arc::new(cipher)));
    let ids: Vec<IntegrationId> = futures::stream::iter(0..args.count)
        .map(|n| {
            let store = store.clone();
            async move { seed_one(&store, n).await }
        })
        .buffer_unordered(8)
        .try_collect()
        .await?;
    let lines: Vec<String> = ids.iter().map(ToString::to_string).collect();
    std::fs::write(&args.ids_file, lines.join("\n") + "\n")?;
    let (_, secret) =
        tether_api::auth::create_key(store.as_ref(), "bench", ApiKeyRole::Service).await?;
    writeln!(std::io::stdout(), "{}", secret.expose_secret())?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let result = match args() {
        Ok(args) => run(args).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("usage: tether-bench-seed DATABASE_URL ENCRYPTION_KEY COUNT IDS_FILE");
            ExitCode::FAILURE
        }
    }
}
