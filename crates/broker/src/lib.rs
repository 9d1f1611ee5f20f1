//! Tether's use-cases: the connect flow (authorize → start → callback), the token lifecycle
//! (reads, refresh exactly once across replicas, failure classification), revocation, and
//! client-credentials app tokens. Depends only on the core ports and provider contract; the
//! server wires storage, shared state and providers into a [`Broker`].

mod app_tokens;
mod audit;
mod audit_coalesce;
mod audit_sink;
mod broker;
mod callback;
mod coherence;
mod config;
mod connect_session;
mod error;
mod flow;
mod inspect;
mod lifecycle;
mod locking;
mod miss_loader;
pub mod oauth;
mod observer;
mod random;
mod read_cache;
mod reads;
mod registry;
mod retry;
mod revoke;
mod runtime;
mod scheduler;
mod scheduler_loop;
mod singleflight;
mod usage;

pub use app_tokens::{AppGrant, BrokerAppTokens};
pub use audit::FlushingAuditReader;
pub use audit_sink::{AuditSink, AuditSinkConfig};
pub use broker::{Broker, BrokerStores};
pub use callback::{
    CallbackParams, CallbackResult, ClientInfo, ConnectOutcome, binding_cookie_name,
};
pub use config::{BrokerConfig, RetryPolicy, ReturnToAllowlist};
pub use connect_session::{
    ConnectOffer, ConnectSessionRequest, ConnectSessionResult, ConnectSessionView, ConnectSessions,
    CreatedConnectSession,
};
pub use error::{BrokerError, BrokerResult};
pub use flow::{AuthorizationRequest, AuthorizationStart, StartRedirect};
pub use oauth::ProviderHttp;
pub use observer::BrokerObserver;
pub use read_cache::{ReadCacheConfig, ReadCacheMode, ReadCacheStats};
pub use reads::AccessGrant;
pub use registry::{INSTANCE_METADATA_KEY, ProviderRegistry, instance_of};
pub use revoke::{ProviderRevocation, RevokeOutcome};
pub use scheduler::{SchedulerConfig, SchedulerPass};
