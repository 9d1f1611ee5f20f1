//! The `tether-sandbox` binary: runs the fake OAuth provider on its own port.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tether_sandbox::{ClientConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Sandbox, SandboxConfig};
use tracing_subscriber::EnvFilter;

/// A small OAuth 2.0 authorization server for local development and tests. Not a real provider.
#[derive(Debug, Parser)]
#[command(name = "tether-sandbox", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "TETHER_SANDBOX_LISTEN", default_value = "127.0.0.1:9090")]
    listen: SocketAddr,
    /// Public base URL (issuer); defaults to http://<listen address>.
    #[arg(long, env = "TETHER_SANDBOX_ISSUER")]
    issuer: Option<String>,
    /// Register this client instead of the demo client.
    #[arg(long, env = "TETHER_SANDBOX_CLIENT_ID", requires = "redirect_uris")]
    client_id: Option<String>,
    /// Secret of --client-id; omit for a public client.
    #[arg(long, env = "TETHER_SANDBOX_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Redirect URIs of --client-id (repeat the flag or separate with commas).
    #[arg(
        long = "redirect-uri",
        env = "TETHER_SANDBOX_REDIRECT_URIS",
        value_delimiter = ','
    )]
    redirect_uris: Vec<String>,
    /// Scopes --client-id may ask for (commas); empty allows any.
    #[arg(long = "scope", env = "TETHER_SANDBOX_SCOPES", value_delimiter = ',')]
    scopes: Vec<String>,
    /// Access-token lifetime in seconds.
    #[arg(long, env = "TETHER_SANDBOX_ACCESS_TOKEN_TTL", default_value_t = 3600)]
    access_token_ttl: u64,
    /// Do not serve the /_sandbox/ switch endpoints.
    #[arg(long, env = "TETHER_SANDBOX_NO_ADMIN")]
    no_admin: bool,
    /// HTTP worker threads.
    #[arg(long, env = "TETHER_SANDBOX_WORKERS", default_value_t = 2)]
    workers: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let demo = args.client_id.is_none();
    let client = match args.client_id {
        Some(id) => {
            let client = match args.client_secret {
                Some(secret) => ClientConfig::new(id, secret),
                None => ClientConfig::public(id),
            };
            client
                .with_redirect_uris(args.redirect_uris)
                .with_allowed_scopes(args.scopes)
        }
        None => ClientConfig::demo(),
    };
    let config = SandboxConfig {
        listen: args.listen,
        issuer: args.issuer,
        clients: vec![client.clone()],
        access_token_ttl: Duration::from_secs(args.access_token_ttl),
        admin_endpoints: !args.no_admin,
        workers: args.workers,
        ..SandboxConfig::default()
    };
    let mut handle = match Sandbox::start(config).await {
        Ok(handle) => handle,
        Err(error) => {
            tracing::error!(%error, "sandbox did not start");
            return ExitCode::FAILURE;
        }
    };
    banner(handle.issuer(), &client, demo);
    tokio::select! {
        result = handle.wait() => {
            if let Err(error) = result {
                tracing::error!(%error, "sandbox stopped");
                return ExitCode::FAILURE;
            }
        }
        _ = tokio::signal::ctrl_c() => handle.stop().await,
    }
    ExitCode::SUCCESS
}

#[expect(
    clippy::print_stdout,
    reason = "the start-up banner is for the person who ran the binary"
)]
fn banner(issuer: &str, client: &ClientConfig, demo: bool) {
    println!("Tether Sandbox — not a real provider");
    println!("  issuer / metadata: {issuer}/.well-known/oauth-authorization-server");
    println!("  client_id:         {}", client.client_id);
    if demo {
        // The demo secret is a published constant, so printing it reveals nothing.
        println!("  client_secret:     {DEMO_CLIENT_SECRET} (demo client {DEMO_CLIENT_ID})");
    }
    for uri in &client.redirect_uris {
        println!("  redirect_uri:      {uri}");
    }
}
