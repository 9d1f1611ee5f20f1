//! `ApiError`: one error body everywhere (`{"code", "message"}`), a stable snake_case code,
//! a message that says what to do, the right status. Unexpected failures are logged with
//! their cause and answered as an opaque 500.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use tether_broker::BrokerError;
use tether_core::StorageError;
use tether_webhooks::WebhookError;
use utoipa::ToSchema;

/// The code of an error answer, attached to the response for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorCode(pub &'static str);

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `integration_not_found`.
    #[schema(example = "integration_not_found")]
    pub code: String,
    /// What went wrong and what to do about it.
    #[schema(example = "No integration with this id exists for this caller.")]
    pub message: String,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<Duration>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn integration_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "integration_not_found",
            "No integration with this id exists for this caller.",
        )
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// An unexpected failure: logged with its cause, answered without detail.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side; try again, and report it if it persists.",
        )
    }

    /// A stored secret that does not decrypt (moved to another row, altered, or no key
    /// opens it): logged as an error with where it is (never the value), answered with its
    /// own code so it stands out from ordinary failures, and counted in `/metrics`
    /// (`tether_errors_total{code="stored_secret_unreadable"}`).
    pub fn secret_unreadable(cause: impl std::fmt::Display) -> Self {
        tracing::error!(
            error = %cause,
            "a stored secret cannot be decrypted: possible tampering or a missing encryption key"
        );
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "stored_secret_unreadable",
            "A stored secret of this resource cannot be decrypted (it was altered, belongs to another record, or no configured key opens it). Nothing was handed out; operators have been alerted by the logs and metrics.",
        )
    }

    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        // For the error counter in the metrics middleware.
        response.extensions_mut().insert(ErrorCode(self.code));
        response.insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if let Some(wait) = self.retry_after {
            response.insert_header((RETRY_AFTER, wait.as_secs().max(1).to_string()));
        }
        response.json(ErrorBody {
            code: self.code.to_owned(),
            message: self.message.clone(),
        })
    }
}

impl From<BrokerError> for ApiError {
    fn from(e: BrokerError) -> Self {
        use StatusCode as S;
        match e {
            BrokerError::ProviderNotConfigured(kind) => Self::new(
                S::NOT_FOUND,
                "provider_not_configured",
                format!("{} is not configured on this Tether.", kind.display_name()),
            ),
            BrokerError::InvalidReturnTo => Self::bad_request(
                "invalid_return_to",
                "return_to is not one of the configured allowed URLs.",
            ),
            BrokerError::InvalidInput(m) => Self::bad_request("invalid_request", m),
            BrokerError::InvalidOpenerOrigin => Self::bad_request(
                "invalid_opener_origin",
                "opener_origin must be an origin (scheme, host and port, no path) of one of the \
                 configured return_to URLs.",
            ),
            BrokerError::ConnectSessionUnknown => Self::not_found(
                "connect_session_unknown",
                "This connect link is unknown; ask the app for a new one.",
            ),
            BrokerError::ConnectSessionUsed => Self::new(
                StatusCode::GONE,
                "connect_session_used",
                "This connect link was already used; ask the app for a new one.",
            ),
            BrokerError::ConnectSessionExpired => Self::new(
                StatusCode::GONE,
                "connect_session_expired",
                "This connect link expired; ask the app for a new one.",
            ),
            BrokerError::IntegrationNotFound => Self::integration_not_found(),
            BrokerError::UnknownFlow => Self::bad_request(
                "flow_unknown",
                "This sign-in link is unknown, already used or expired; start connecting again.",
            ),
            BrokerError::ReauthRequired { status } => Self::new(
                S::CONFLICT,
                "reauth_required",
                format!("The integration is {status}: the user must connect it again."),
            ),
            BrokerError::InsufficientScopes { provider, missing } => Self::new(
                S::FORBIDDEN,
                "insufficient_scopes",
                format!(
                    "The user has not granted {provider} the permissions this needs ({}); ask them to reconnect {provider} and allow them.",
                    missing.to_delimited()
                ),
            ),
            BrokerError::ProviderUnavailable {
                message,
                retry_after,
            } => Self::new(
                S::SERVICE_UNAVAILABLE,
                "provider_unavailable",
                format!("The provider is temporarily unavailable ({message}); retry later."),
            )
            .with_retry_after(retry_after.or(Some(Duration::from_secs(5)))),
            BrokerError::Provider(e) => {
                let retry = e.retry_after();
                Self::new(S::BAD_GATEWAY, "provider_error", e.to_string()).with_retry_after(retry)
            }
            BrokerError::StateUnavailable(m) => {
                tracing::warn!(error = %m, "shared state unavailable");
                Self::new(
                    S::SERVICE_UNAVAILABLE,
                    "state_unavailable",
                    "Tether's shared state store is unavailable; retry shortly.",
                )
                .with_retry_after(Some(Duration::from_secs(2)))
            }
            BrokerError::AuditUnavailable => Self::new(
                S::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                "The token was not handed out because the audit trail could not record the read; retry shortly.",
            )
            .with_retry_after(Some(Duration::from_secs(2))),
            BrokerError::SecretUnreadable(m) => Self::secret_unreadable(m),
            BrokerError::Storage(m) | BrokerError::Internal(m) => Self::internal(m),
        }
    }
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::InvalidInput(message) => Self::bad_request("invalid_webhook", message),
            WebhookError::EndpointNotFound => Self::not_found(
                "webhook_not_found",
                "No webhook endpoint with this id exists.",
            ),
            WebhookError::EventNotFound => Self::not_found(
                "event_not_found",
                "No event with this id is kept (it never existed, or it was pruned after the \
                 retention, events_retention_days).",
            ),
            WebhookError::EventFilteredOut => Self::new(
                StatusCode::CONFLICT,
                "event_filtered_out",
                "This endpoint's event_types do not include this event's type; change the \
                 filter first to deliver it.",
            ),
            WebhookError::Storage(e) => e.into(),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound { entity } => {
                Self::not_found("not_found", format!("The {entity} does not exist."))
            }
            StorageError::Duplicate { entity, detail } => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("The {entity} already exists: {detail}."),
            ),
            StorageError::VersionConflict { .. } => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "The resource changed meanwhile; read it again and retry.",
            ),
            StorageError::Decrypt { .. } => Self::secret_unreadable(e),
            other => Self::internal(other),
        }
    }
}
