//! Tether's Notion provider: Notion public connections (formerly "public integrations")
//! over OAuth 2.0.
//!
//! Build it with [`NotionProvider::new`] from the provider's `ProviderSettings` and the
//! server's HTTP client.
//!
//! # Endpoints (names accepted in the settings' `endpoints`)
//!
//! | name | default |
//! |---|---|
//! | `authorize` | `https://api.notion.com/v1/oauth/authorize` |
//! | `token` | `https://api.notion.com/v1/oauth/token` (code and refresh) |
//! | `revocation` | `https://api.notion.com/v1/oauth/revoke` |
//! | `api_base` | `https://api.notion.com/v1` (the proxy's base: host fixed, path from the caller) |
//! | `userinfo` | `{api_base}/users/me` (the connection's bot user: the connection test) |
//!
//! # Options
//!
//! | option | default | meaning |
//! |---|---|---|
//! | `notion_version` | `2026-03-11` | the `Notion-Version` header (`YYYY-MM-DD`) on Tether's own API calls; [`NotionProvider::notion_version`] exposes it |
//! | `pkce` | `false` | send PKCE S256 (Notion does not document PKCE) |
//!
//! # Behaviour
//!
//! - `owner=user` on every authorization; no OAuth scopes: what the connection may do is
//!   chosen in the connection's capabilities in Notion's developer portal, and which pages
//!   it sees is chosen by the user in Notion's page picker. The scope catalogue is empty,
//!   the default scope set is empty and nothing is reported as granted.
//! - Token requests are JSON bodies with HTTP Basic client authentication.
//! - Refresh tokens rotate where Notion issues them (the old one stops working); answers
//!   with a `null` refresh token leave nothing to refresh. Answers carry no `expires_in`.
//! - The account is `workspace_id:bot_id` from the token answer; its label is the workspace
//!   name; workspace id, name and icon, bot id and owner are kept as metadata.
//! - Disconnecting revokes at `/v1/oauth/revoke` (JSON `{"token": …, "token_type_hint": …}`
//!   with HTTP Basic, built by the broker's RFC 7009 request).
//! - Notion's `{"object":"error","status","code","message"}` answers (and RFC 6749 bodies at
//!   the OAuth endpoints) are classified into Tether's error classes.

mod api;
mod config;
mod errors;
mod identity;
mod provider;

pub use config::DEFAULT_NOTION_VERSION;
pub use provider::NotionProvider;
