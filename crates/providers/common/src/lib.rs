//! What every Tether provider crate shares, so that a provider crate holds only what is
//! really its own:
//!
//! - [`http`]: the provider HTTP client (timeouts, no redirects, rustls), sending a request
//!   and keeping its answer whole ([`Answer`]), authenticated JSON GETs;
//! - [`retry_after`]: the `Retry-After` header (seconds or an HTTP date), capped;
//! - [`network_error`]: a transport failure as `ProviderError::Network`, never naming the URL;
//! - [`error_body`]: provider error bodies (RFC 6749 fields, `message`, …) read leniently and
//!   classified into the core error classes;
//! - [`ProviderDescriptor`] and [`ProviderBase`]: what is data about a provider (kind, client
//!   authentication, capabilities, endpoint names and defaults, options, scopes) and the
//!   configured values built from it, with [`provider_basics!`] writing the `Provider`
//!   accessors from them.
//!
//! See `docs/adding-a-provider.md` for how a provider crate is put together.

mod base;
mod descriptor;
pub mod error_body;
pub mod http;
mod network;
mod retry_after;
mod scopes;

pub use base::{Described, ProviderBase, endpoints_of, resolved_url};
pub use descriptor::{EndpointSpec, ProviderDescriptor, ScopeCatalogue};
pub use http::Answer;
pub use network::network_error;
pub use retry_after::{MAX_RETRY_AFTER, retry_after, retry_after_capped};
pub use scopes::{ScopeSpec, catalogue, scope_set};
