//! `tether-sandbox`: a small but real OAuth 2.0 authorization server and protected API that
//! Tether's tests and embedded demo mode use as a fake provider.
//!
//! Start it in-process with [`Sandbox::start`] (port 0 works), drive its failure switches with
//! [`SandboxControls`], or mount its routes into another actix-web app with [`configure`].
//! Endpoints (relative to the issuer / base URL):
//! `GET|POST /oauth/authorize`, `POST /oauth/token`, `POST /oauth/revoke`,
//! `GET /oauth/userinfo`, `GET /api/me`, `GET /api/items`,
//! `GET /.well-known/oauth-authorization-server` and the test switches under `/_sandbox/`.

mod config;
mod controls;
mod crypto;
mod error;
mod http;
mod oauth_error;
mod scope;
mod server;
mod state;
mod store;
mod switchboard;

pub use config::{
    ClientConfig, ClientSecret, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URIS,
    DEMO_SCOPES, SandboxConfig,
};
pub use controls::{Failure, GrantCounts, GrantType, SandboxControls, Stats};
pub use crypto::subject_for;
pub use error::{Result, SandboxError};
pub use http::configure;
pub use server::{Sandbox, SandboxHandle};
pub use state::SandboxState;
