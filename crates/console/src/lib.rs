//! The operator console at `/console`: server-rendered pages (maud, escaped by default) for
//! console accounts — operators (`admin`) and practice staff (`staff`) — with argon2id
//! passwords, database sessions, a CSRF token on every form and rate-limited sign-in. The
//! server builds a [`ConsoleState`] and mounts [`configure`] beside the API.

mod connect;
mod error;
mod limits;
mod page;
pub mod password;
mod routes;
mod session;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::web;
use tether_api::TrustedProxies;
use tether_core::audit::AuditEvent;
use tether_core::clock::Clock;
use tether_core::ports::{
    ApiKeyRepository, AuditRepository, ConsoleRepository, IntegrationOverview,
};

pub use connect::{CONNECT_CONTENT_SECURITY_POLICY, configure as configure_connect};
pub use error::ConsoleError;
pub use limits::SignInLimits;
pub use session::{CSRF_FIELD, SESSION_COOKIE, SIGN_IN_COOKIE};

/// The policy every console page is served with: nothing but our own stylesheet, no script,
/// forms only to ourselves, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The ports the console reads and writes.
#[derive(Clone)]
pub struct ConsoleStores {
    pub accounts: Arc<dyn ConsoleRepository>,
    pub overview: Arc<dyn IntegrationOverview>,
    pub api_keys: Arc<dyn ApiKeyRepository>,
    /// Console actions are audited synchronously: a change is answered once its record is in.
    pub audit: Arc<dyn AuditRepository>,
}

impl std::fmt::Debug for ConsoleStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleStores").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// How long a session lasts from sign-in (absolute: no sliding renewal).
    pub session_ttl: chrono::Duration,
    /// Send cookies with `Secure` (when the public base URL is https).
    pub secure_cookies: bool,
    /// Proxies whose forwarding headers name the client (the API's setting).
    pub trusted_proxies: TrustedProxies,
    /// Sign-in attempts allowed per client address and per account.
    pub limits: SignInLimits,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            session_ttl: chrono::Duration::hours(12),
            secure_cookies: false,
            trusted_proxies: TrustedProxies::default(),
            limits: SignInLimits::default(),
        }
    }
}

/// Called after an API key is revoked in the console, so this replica stops accepting it at
/// once (the API's key cache).
pub type OnKeyRevoked = Arc<dyn Fn() + Send + Sync>;

/// What every console handler can reach.
pub struct ConsoleState {
    pub stores: ConsoleStores,
    pub settings: ConsoleSettings,
    pub clock: Arc<dyn Clock>,
    limiters: limits::Limiters,
    on_key_revoked: OnKeyRevoked,
}

impl std::fmt::Debug for ConsoleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl ConsoleState {
    pub fn new(
        stores: ConsoleStores,
        settings: ConsoleSettings,
        clock: Arc<dyn Clock>,
        on_key_revoked: OnKeyRevoked,
    ) -> Self {
        Self {
            limiters: limits::Limiters::new(&settings.limits),
            stores,
            settings,
            clock,
            on_key_revoked,
        }
    }

    /// Appends an audit record; the caller's action fails when it cannot be written.
    pub(crate) async fn audit(&self, mut event: AuditEvent) -> Result<(), ConsoleError> {
        event.created_at = self.clock.now();
        self.stores
            .audit
            .append(&event)
            .await
            .map(|_| ())
            .map_err(|e| ConsoleError::Internal(format!("writing the audit record: {e}")))
    }
}

/// Mounts `/console` (pages, forms and its stylesheet).
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<ConsoleState>) {
    cfg.service(
        web::scope("/console")
            .app_data(state)
            .app_data(
                web::FormConfig::default()
                    .limit(16 * 1024)
                    .error_handler(|e, _| ConsoleError::BadForm(e.to_string()).into()),
            )
            .app_data(
                web::PathConfig::default().error_handler(|_, _| ConsoleError::NotFound.into()),
            )
            .configure(routes::configure)
            .default_service(web::to(routes::not_found))
            .wrap(
                DefaultHeaders::new()
                    .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
                    .add((header::CACHE_CONTROL, "no-store")),
            ),
    );
}

/// How long the stylesheet may be cached.
pub(crate) const STYLE_MAX_AGE: Duration = Duration::from_secs(3600);
