//! Tether's framework-free core: domain types, provider kinds, secrets and the storage ports.
//!
//! Nothing here knows about actix, sea-orm, Redis or oauth2; the other crates depend on these
//! types and traits and the server wires concrete implementations together.

pub mod api_key;
pub mod audit;
pub mod clock;
mod closed_enum;
pub mod connect_session;
pub mod consent;
pub mod console;
pub mod error;
pub mod events;
pub mod ids;
pub mod integration;
pub mod paths;
pub mod ports;
pub mod provider;
pub mod provider_config;
pub mod scope;
pub mod scope_catalog;
pub mod secret;
pub mod sms;
pub mod state;
pub mod token;
pub mod webhooks;

pub use error::{ParseError, StorageError, StorageResult};
pub use ids::{
    ApiKeyId, ConnectSessionId, ConsentId, ConsoleAccountId, IntegrationId, ProviderConfigId,
    UserId, WebhookEndpointId,
};
pub use integration::{Integration, IntegrationStatus, NewIntegration};
pub use provider::ProviderKind;
pub use scope::{Scope, ScopeSet};
