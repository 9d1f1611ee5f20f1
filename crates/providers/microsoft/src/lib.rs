//! Tether's Microsoft provider: Microsoft identity platform v2.0 sign-in with delegated
//! Microsoft Graph permissions (Outlook calendar and mail, OneDrive, Teams basics, SharePoint
//! sites, the user's profile).
//!
//! Build it with [`MicrosoftProvider::new`] from the provider's `ProviderSettings` and the
//! server's HTTP client.
//!
//! # Endpoints (names accepted in the settings' `endpoints`)
//!
//! | name | default |
//! |---|---|
//! | `authorize` | `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize` |
//! | `token` | `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token` |
//! | `api_base` | `https://graph.microsoft.com/v1.0` (the proxy's base: host fixed, path from the caller) |
//! | `userinfo` | `{api_base}/me` (identity and the connection test) |
//!
//! There is no revocation endpoint: Microsoft documents none, so disconnecting deletes the
//! tokens on Tether's side only (the access token stays valid until it expires, at most
//! about 90 minutes).
//!
//! # Options
//!
//! | option | default | meaning |
//! |---|---|---|
//! | `tenant` | `common` | `common` (work/school and personal accounts), `organizations` (work/school only), `consumers` (personal only), or a tenant id (GUID) or verified domain (that tenant only) |
//! | `prompt` | not sent | `select_account`, `login` or `consent`, sent on every authorization |
//! | `domain_hint` | not sent | sent as `domain_hint` to skip home-realm discovery |
//!
//! # Behaviour
//!
//! - PKCE S256 on every authorization; the client secret goes in the form body.
//! - `offline_access` (refresh tokens) and `openid` (the ID token the account is identified
//!   by) are added to every authorization and are not required back in the granted scopes.
//! - Refresh tokens rotate: every refresh answer carries a new one.
//! - The reported `scope` is normalised before comparing: URL-decoding, Graph prefixes
//!   (`https://graph.microsoft.com/`, Graph's application id) removed, catalogue spelling
//!   restored (`mail.read` → `Mail.Read`).
//! - The account is `oid:tid` (object id and tenant id from the ID token of the token answer;
//!   `sub` differs per application and is not used); the label is the Graph `/me` mail or
//!   user principal name.
//! - Token-endpoint errors are classified by `error`, sharpened by the AADSTS numbers in
//!   `error_codes` (a secret or redirect-URI problem is the operator's even under
//!   `invalid_grant`; 50173 is a revocation) and kept with their first description line and
//!   `suberror`; Graph's `{"error":{code,message}}` answers are classified by status.

mod catalogue;
mod config;
mod errors;
mod graph;
mod identity;
mod provider;
mod scopes;

pub use config::DEFAULT_TENANT;
pub use provider::MicrosoftProvider;
pub use scopes::normalise_scope;
