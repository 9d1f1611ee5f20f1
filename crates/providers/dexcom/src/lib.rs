//! Tether provider crate for Dexcom: OAuth 2.0 authorization code on the `/v2/oauth2/…`
//! endpoints, CGM data on the v3 API.
//!
//! Build it with [`DexcomProvider::new`] from [`ProviderSettings`](tether_core::provider::ProviderSettings)
//! and the server's `reqwest::Client`.
//!
//! # Endpoints (all overridable by name)
//!
//! | name | default (region `us`) |
//! |---|---|
//! | `authorize` | `https://api.dexcom.com/v2/oauth2/login` |
//! | `token` | `https://api.dexcom.com/v2/oauth2/token` |
//! | `api_base` | `https://api.dexcom.com` (the proxy's base; identity and test use `{api_base}/v3/users/self/dataRange`) |
//!
//! The region changes the host of every default: `eu` → `https://api.dexcom.eu`, `jp` →
//! `https://api.dexcom.jp`, `sandbox` → `https://sandbox-api.dexcom.com`. There is no
//! revocation or userinfo endpoint.
//!
//! # Options
//!
//! - `region` — `us` (default), `eu`, `jp` or `sandbox`: the deployment the app is registered
//!   in (a US app cannot read EU users' data and vice versa).
//! - `pkce` — `true` (default) or `false`. Dexcom does not document PKCE; a third-party spec
//!   says it is required. PKCE S256 is sent by default (RFC 9700 recommends it and a server
//!   that does not know it ignores the parameters); set `false` if Dexcom ever refuses it.
//!
//! # Behaviour
//!
//! - Scope: `offline_access`, the only one Dexcom accepts (required).
//! - Client authentication: `client_id` and `client_secret` in the form body.
//! - Refresh tokens are single-use: each refresh returns a new one (the old one is dead).
//! - Identity: `userId` from `GET /v3/users/self/dataRange` (unique per account per app).
//! - Test connection: the same data-range call.
//! - No revocation: users withdraw access in their Dexcom account; disconnect deletes tokens.
//! - [`DexcomProvider::egvs`]: typed estimated glucose values, ≤ 30-day windows per request.

mod api;
mod data_range;
mod egv;
mod egvs;
mod provider;
mod region;
mod scopes;

pub use egv::{DisplayTime, Egv, EgvStatus, GlucoseUnit, Trend};
pub use egvs::MAX_WINDOW_DAYS;
pub use provider::{DexcomProvider, OPTION_NAMES};
pub use region::Region;
