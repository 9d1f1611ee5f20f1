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
//! | `jwks` | `https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys` (the keys ID tokens are signed with) |
//! | `id_token_issuer` | `https://login.microsoftonline.com/{tid}/v2.0` (the `iss` of ID tokens; `{tid}` is the token's own tenant) |
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
//!   user principal name. No claim of the ID token is used before it is verified: signature
//!   against the `jwks` keys (cached; fetched again for an unknown `kid` at most once a
//!   minute), issuer `id_token_issuer` with the token's own `tid`, `aud` = the client id,
//!   `exp`, and the `nonce` of the sign-in. The tenant must be the configured one when that
//!   is a tenant id, a personal account's for `consumers`, any other for `organizations`. A
//!   token that fails any check fails the connection.
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
