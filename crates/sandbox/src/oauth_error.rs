//! OAuth error responses (RFC 6749 §5.2, RFC 7009 §2.2.1) as an actix `ResponseError`.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// The `error` codes the sandbox answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    ServerError,
    TemporarilyUnavailable,
}

impl ErrorCode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// An RFC 6749 §5.2 error: JSON `{error, error_description}`, `Cache-Control: no-store`.
#[derive(Debug)]
pub(crate) struct OAuthError {
    pub(crate) code: ErrorCode,
    pub(crate) description: Cow<'static, str>,
    status: StatusCode,
    www_authenticate: Option<&'static str>,
    retry_after_secs: Option<u32>,
}

impl OAuthError {
    pub(crate) fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            status: StatusCode::BAD_REQUEST,
            www_authenticate: None,
            retry_after_secs: None,
        }
    }

    pub(crate) fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub(crate) fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub(crate) fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    /// 401 `invalid_client`; `basic` adds the `WWW-Authenticate` challenge RFC 6749 requires
    /// when the client tried the `Authorization` header.
    pub(crate) fn invalid_client(description: &'static str, basic: bool) -> Self {
        let mut error = Self::new(ErrorCode::InvalidClient, description);
        error.status = StatusCode::UNAUTHORIZED;
        error.www_authenticate = basic.then_some("Basic realm=\"tether-sandbox\"");
        error
    }

    /// A 5xx answer: `temporarily_unavailable` with `Retry-After: 1` for 503, else `server_error`.
    pub(crate) fn unavailable(status: StatusCode, description: &'static str) -> Self {
        let code = if status == StatusCode::SERVICE_UNAVAILABLE {
            ErrorCode::TemporarilyUnavailable
        } else {
            ErrorCode::ServerError
        };
        let mut error = Self::new(code, description);
        error.status = status;
        error.retry_after_secs = (status == StatusCode::SERVICE_UNAVAILABLE).then_some(1);
        error
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
        if let Some(challenge) = self.www_authenticate {
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        response.json(ErrorBody {
            error: self.code.as_str(),
            error_description: &self.description,
        })
    }
}
