//! Tether's OpenEMR provider: one self-hosted OpenEMR site (SMART on FHIR) per configuration.
//!
//! One deployment may serve several clinics: each site is its own configuration, told apart by
//! `ProviderSettings::instance` (e.g. `clinic-a`) and located by the option `site_url`.
//!
//! # Building
//!
//! - [`OpenEmrProvider::new`] makes no network call: it uses the paths OpenEMR documents
//!   (`{site_url}/oauth2/{site}/…`, `{site_url}/apis/{site}/fhir`) plus any endpoint overrides.
//! - [`OpenEmrProvider::discover`] first reads `{fhir_base}/.well-known/smart-configuration` and
//!   takes the authorize, token, revocation, registration, userinfo and jwks endpoints, the
//!   issuer and the capabilities from it. A 4xx answer or a body that is not a SMART
//!   configuration falls back to the documented paths; an unreachable site, a 5xx or a 429 is
//!   an error. Discovered endpoints must be `https` and on the site's own origin (the client
//!   secret goes to them).
//!
//! Precedence for every endpoint: override → discovered → documented path.
//!
//! # Options (`ProviderSettings::options`)
//!
//! | option | default | meaning |
//! |---|---|---|
//! | `site_url` | required | The site's address, `https://emr.clinic-a.example/` (a path prefix such as `/openemr` is kept), or its FHIR base `https://…/apis/{site}/fhir` (which also names the site). `https` only; plain `http` is accepted for localhost. |
//! | `site` | `default` | The OpenEMR site name (multisite installs). Must agree with a site named by `site_url`. |
//! | `scope_syntax` | `v2` when discovery advertises `permission-v2`, else `v1` | Syntax of the default resource scopes: `v1` (`user/Patient.read`, accepted by every OpenEMR version with SMART) or `v2` (`user/Patient.rs`). Requests may use either; granted scopes are matched in both. |
//! | `client_auth` | `client_secret_post` (or `client_secret_basic` when discovery advertises only that) | How the client authenticates at the token and revocation endpoints. |
//! | `revocation` | `auto` | `auto`: revoke (RFC 7009) only when the site advertises a `revocation_endpoint` or one is configured; `true`: also use the documented `/oauth2/{site}/revoke`; `false`: never revoke, disconnect only deletes the tokens. |
//!
//! # Endpoint names (`ProviderSettings::endpoints`)
//!
//! | name | documented default |
//! |---|---|
//! | `authorize` | `{site_url}/oauth2/{site}/authorize` |
//! | `token` | `{site_url}/oauth2/{site}/token` |
//! | `revocation` | none (see the `revocation` option); `{site_url}/oauth2/{site}/revoke` with `revocation = true` |
//! | `userinfo` | `{site_url}/oauth2/{site}/userinfo` |
//! | `issuer` | `{site_url}/oauth2/{site}` |
//! | `registration` | `{site_url}/oauth2/{site}/registration` |
//! | `jwks` | `{site_url}/oauth2/{site}/jwk` (or the discovered `jwks_uri`): the ID tokens' keys |
//! | `fhir_base` | `{site_url}/apis/{site}/fhir` (also the `aud` parameter) |
//! | `api_base` | the FHIR base: what the proxy may call |
//!
//! # Protocol
//!
//! Authorization code with PKCE S256 and `aud` = the FHIR base; a confidential client
//! (a client secret is required). Scopes: `openid fhirUser offline_access api:fhir` are
//! required; resource scopes in SMART v1 or v2 syntax ([`scopes`]). Refresh tokens rotate.
//! Identity: the `fhirUser` of the token answer or ID token, else the OIDC `sub` (ID token,
//! then userinfo), qualified by the site's FHIR base — `{fhir_base}/Practitioner/{id}` or
//! `{fhir_base}#sub:{sub}` — so the same user id on two sites never collides. An ID token is
//! verified before any claim of it is used (`tether_oidc`: signature against `jwks`, `issuer`,
//! `aud` = the client id, expiry, the sign-in's `nonce`); one that does not verify fails the
//! identity. The launch context (`patient`, `encounter`, `fhirUser` — from a verified ID token
//! only) is returned by `launch_context()` for encrypted storage and never put in metadata,
//! labels or logs. Test connection: `GET {fhir_base}/metadata`
//! (server software and version) and `GET {fhir_base}/Patient?_summary=count&_count=1`.
//!
//! Clients are registered with [`register`] (RFC 7591); an administrator must then enable them
//! in OpenEMR (Administration → System → API Clients).

mod api;
mod config;
mod connection;
mod discovery;
mod identity;
mod provider;
mod registration;
pub mod scopes;
mod site;

pub use config::OPTION_NAMES;
pub use connection::ServerSoftware;
pub use discovery::SmartConfiguration;
pub use provider::OpenEmrProvider;
pub use registration::{Registration, RegistrationRequest, register};
pub use scopes::ScopeSyntax;
pub use site::{DEFAULT_SITE, Site};
