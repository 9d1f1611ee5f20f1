//! `WebhookError`: what endpoint management can refuse, with messages an operator can act on.

use tether_core::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Bad input (a URL that is refused, an unknown event type, …); the message says why.
    #[error("{0}")]
    InvalidInput(String),
    #[error("no webhook endpoint with this id exists")]
    EndpointNotFound,
    #[error("no event with this id is kept (it never existed or was pruned after its retention)")]
    EventNotFound,
    #[error("this endpoint's event-type filter does not accept this event")]
    EventFilteredOut,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub type WebhookResult<T> = Result<T, WebhookError>;
