//! HTTP DTOs: `XIn` bodies (unknown fields refused), `XOut` answers built by explicit
//! conversion from domain types. No entity or secret type is ever serialized here except
//! the token read answer, which exists to carry a token.

mod connect_sessions;
mod events;
mod integrations;
mod providers;
mod webhooks;

pub use connect_sessions::{ConnectSessionIn, ConnectSessionOut, ConnectUpgradeIn};
pub use events::{EventDataOut, EventOut, EventPageOut, ScopeChangeOut};
pub use integrations::{
    AuditRecordOut, ConsentOut, DisconnectOut, IntegrationOut, TestConnectionOut, TokenOut,
};
pub use providers::{AuthorizeIn, AuthorizeOut, CapabilitiesOut, ProviderOut, ScopeOut};
pub use webhooks::{
    DeliveryOut, DeliveryPageOut, RedeliverIn, RedeliveryOut, WebhookEndpointIn,
    WebhookEndpointOut, WebhookEndpointPatch, WebhookEndpointSecretOut, WebhookTestOut,
};
