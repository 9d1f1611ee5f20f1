//! `ConsoleError`: every way a console request can fail, answered as a small HTML page with
//! the right status. Unexpected errors are logged with their cause and shown as an opaque 500.

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use tether_core::StorageError;

use crate::page;

#[derive(Debug)]
pub enum ConsoleError {
    /// No session, or it ended: a page is redirected to sign-in, a form refused.
    SignedOut {
        is_get: bool,
    },
    /// Signed in, but this page is not for this account.
    Forbidden(String),
    /// The form's CSRF token is missing or wrong.
    BadCsrf,
    /// A form that cannot be read at all.
    BadForm(String),
    NotFound,
    /// An action the console asked of Tether could not be done (the provider refused, the
    /// user must reconnect, …): its status and a message a person can act on.
    Failed(StatusCode, String),
    /// Too many sign-in attempts.
    RateLimited(Duration),
    /// Anything unexpected (storage, hashing); the cause is logged, never shown.
    Internal(String),
}

impl std::error::Error for ConsoleError {}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsoleError::SignedOut { .. } => f.write_str("not signed in"),
            ConsoleError::Forbidden(why) => write!(f, "forbidden: {why}"),
            ConsoleError::BadCsrf => f.write_str("missing or wrong CSRF token"),
            ConsoleError::BadForm(why) => write!(f, "unreadable form: {why}"),
            ConsoleError::NotFound => f.write_str("not found"),
            ConsoleError::Failed(status, why) => write!(f, "failed ({status}): {why}"),
            ConsoleError::RateLimited(wait) => write!(f, "rate limited for {}s", wait.as_secs()),
            ConsoleError::Internal(why) => write!(f, "internal error: {why}"),
        }
    }
}

impl From<StorageError> for ConsoleError {
    fn from(e: StorageError) -> Self {
        ConsoleError::Internal(e.to_string())
    }
}

impl From<tether_api::ApiError> for ConsoleError {
    /// The API's answers as pages: a server fault stays opaque, the rest keep their message.
    fn from(e: tether_api::ApiError) -> Self {
        match e.status {
            s if s.is_server_error()
                && s != StatusCode::SERVICE_UNAVAILABLE
                && s != StatusCode::BAD_GATEWAY =>
            {
                ConsoleError::Internal(format!("{}: {}", e.code, e.message))
            }
            StatusCode::NOT_FOUND => ConsoleError::NotFound,
            StatusCode::FORBIDDEN => ConsoleError::Forbidden(e.message),
            status => ConsoleError::Failed(status, e.message),
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignedOut { is_get: true } => StatusCode::SEE_OTHER,
            ConsoleError::SignedOut { is_get: false } => StatusCode::FORBIDDEN,
            ConsoleError::Forbidden(_) | ConsoleError::BadCsrf => StatusCode::FORBIDDEN,
            ConsoleError::BadForm(_) => StatusCode::BAD_REQUEST,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::Failed(status, _) => *status,
            ConsoleError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (title, message) = match self {
            ConsoleError::SignedOut { is_get: true } => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/console/sign-in"))
                    .finish();
            }
            ConsoleError::SignedOut { is_get: false } => (
                "Signed out",
                "Your session has ended. Sign in again and repeat what you were doing.".to_owned(),
            ),
            ConsoleError::Forbidden(why) => ("Not allowed", why.clone()),
            ConsoleError::BadCsrf => (
                "Form refused",
                "This form is out of date or did not come from this console (its security \
                 token is missing or wrong). Go back, reload the page and try again."
                    .to_owned(),
            ),
            ConsoleError::BadForm(why) => ("Form not understood", why.clone()),
            ConsoleError::NotFound => ("Not found", "There is no such console page.".to_owned()),
            ConsoleError::Failed(_, why) => ("Could not be done", why.clone()),
            ConsoleError::RateLimited(wait) => (
                "Too many attempts",
                format!(
                    "Too many sign-in attempts. Wait {} seconds and try again.",
                    wait.as_secs().max(1)
                ),
            ),
            ConsoleError::Internal(cause) => {
                tracing::error!(error = %cause, "console request failed");
                (
                    "Something went wrong",
                    "The console could not do this. Nothing was changed that you were not told \
                     about; try again, and ask an operator to check the logs if it persists."
                        .to_owned(),
                )
            }
        };
        let mut response = HttpResponse::build(status);
        response.content_type("text/html; charset=utf-8");
        if let ConsoleError::RateLimited(wait) = self {
            response.insert_header((header::RETRY_AFTER, wait.as_secs().max(1).to_string()));
        }
        response.body(page::message(title, &message).into_string())
    }
}
