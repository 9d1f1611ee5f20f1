//! Tether provider: Google (Calendar, Drive, Gmail, Tasks with OpenID Connect identity), and
//! the Google OAuth client ([`GoogleAuth`]) that the YouTube provider reuses.
//!
//! Construct with [`GoogleProvider::new`] from [`ProviderSettings`]
//! (`tether_core::provider::ProviderSettings`) and the server's `reqwest::Client`.
//!
//! # Endpoints (all overridable by name)
//!
//! | name | default |
//! |---|---|
//! | `authorize` | `https://accounts.google.com/o/oauth2/v2/auth` |
//! | `token` | `https://oauth2.googleapis.com/token` |
//! | `revocation` | `https://oauth2.googleapis.com/revoke` (RFC 7009) |
//! | `userinfo` | `https://openidconnect.googleapis.com/v1/userinfo` |
//! | `api_base` | `https://www.googleapis.com` (proxy base; Calendar, Drive, Gmail, Tasks) |
//! | `issuer` | `https://accounts.google.com` (compared with a callback's `iss`) |
//!
//! # Options
//!
//! | name | values | default |
//! |---|---|---|
//! | `client_auth` | `post` (`client_secret_post`) or `basic` (`client_secret_basic`) | `post` |
//! | `prompt` | `consent`, `select_account`, both space-separated, `none`, or empty (not sent) | `consent` |
//! | `include_granted_scopes` | `true` / `false` (incremental consent) | `true` |
//! | `require_iss` | `true` / `false`: refuse callbacks without `iss` | `false` |
//! | `test_call` | `userinfo`, `calendar`, `drive`, `gmail`, `tasks` | `userinfo` |
//!
//! Every authorization request carries `access_type=offline` and, when given, `login_hint`;
//! `openid` and `email` are always requested (the account is identified by its `sub`).
//!
//! [`ProviderSettings`]: tether_core::provider::ProviderSettings

mod api_error;
mod auth;
mod catalogue;
mod http;
mod provider;
mod scopes;
mod token;
mod userinfo;

pub use api_error::{ApiFailure, QuotaPolicy};
pub use auth::{
    AUTH_OPTIONS, AuthDefaults, DEFAULT_AUTHORIZE_URL, DEFAULT_REVOCATION_URL, DEFAULT_TOKEN_URL,
    DEFAULT_USERINFO_URL, GOOGLE_AUTH, GOOGLE_ENDPOINTS, GOOGLE_ISSUER, GoogleAuth,
};
pub use catalogue::{GOOGLE_DEFAULT_SCOPES, GOOGLE_IMPLICIT_SCOPES, GOOGLE_SCOPES};
pub use http::ApiAnswer;
pub use provider::{DEFAULT_API_BASE, GOOGLE, GoogleProvider, TestCall};
pub use scopes::{EMAIL, OPENID, PROFILE, ScopeSpec, catalogue, scope_set};
pub use token::{classify_token_error, grants, parse_token_response};
pub use userinfo::GoogleUser;
