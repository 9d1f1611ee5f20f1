//! Building the application: database, migrations, keys and the self-check, then a bound
//! listener. Production and tests go through this same path.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use tether_core::clock::Clock;

use actix_web::dev::Server;

use crate::config::Config;
use crate::error::{ServerError, ServerResult};
use crate::{crypto, database, http, wiring};

/// A ready-to-run server: everything checked, the port bound (port 0 picks a free one).
pub struct Application {
    address: SocketAddr,
    server: Server,
    state: actix_web::web::Data<tether_api::ApiState>,
    background: Vec<tokio::task::JoinHandle<()>>,
    /// The embedded sandbox, saved once more at shutdown.
    sandbox: Option<(sea_orm::DatabaseConnection, wiring::SandboxState)>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Application {
    pub async fn build(config: Config) -> ServerResult<Self> {
        Self::build_with_clock(config, Arc::new(tether_core::clock::SystemClock)).await
    }

    /// [`Application::build`] with the clock the connect links and console sessions ask
    /// (tests move a `ManualClock` to expire them without sleeping).
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> ServerResult<Self> {
        install_crypto_provider();
        // Checked before anything is opened: serving needs a way to verify user JWTs.
        if matches!(config.api.jwt, crate::config::JwtSource::Missing) {
            return Err(crate::config::ConfigError::JwtRequired.into());
        }
        let conn = database::open(&config).await?;
        database::prepare(&conn, &config).await?;
        let cipher = crypto::cipher(&config)?;
        crypto::self_check(&conn, &cipher).await?;
        let bind_error = |e: std::io::Error| ServerError::Bind {
            address: config.listen,
            reason: e.to_string(),
        };
        let listener = TcpListener::bind(config.listen).map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;
        let wired = wiring::wire(&config, conn.clone(), cipher, address, clock).await?;
        let saved_sandbox = wired.sandbox.clone().map(|sandbox| (conn, sandbox));
        let public_url = wired.state.config.public_url.clone();
        let sandbox = wired.sandbox.is_some();
        let state = wired.state.clone();
        let server = http::serve(
            listener,
            wired.state,
            wired.console,
            wired.limiters,
            wired.sandbox,
        )?;
        tracing::info!(
            %address,
            engine = ?config.engine(),
            %public_url,
            sandbox,
            "listening on http://{address}"
        );
        Ok(Self {
            address,
            server,
            state,
            background: wired.background,
            sandbox: saved_sandbox,
        })
    }

    /// Stops the server (gracefully with `true`) from another task.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The API state (tests reach the broker and stores through it).
    pub fn state(&self) -> &tether_api::ApiState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests and writes what token
    /// reads left pending (batched audit records, `last_used_at`).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.state.broker().shutdown().await;
        for task in self.background {
            task.abort();
        }
        if let Some((conn, sandbox)) = &self.sandbox {
            wiring::save_sandbox(conn, sandbox).await;
        }
        result
    }
}

/// sea-orm's TLS uses ring while other crates may pull aws-lc-rs: pick ring process-wide, or
/// TLS to PostgreSQL can panic on an ambiguous provider.
pub fn install_crypto_provider() {
    // An error only means a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
