//! Bearer-token checks for the protected endpoints (RFC 6750 §3 error answers).

use std::fmt;
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use crate::state::SandboxState;
use crate::store::{AccessInfo, AccessProblem};

/// A request that carried a valid access token.
#[derive(Debug)]
pub(crate) struct Bearer(pub(crate) AccessInfo);

impl Bearer {
    /// 403 `insufficient_scope` unless the token carries `scope`.
    pub(crate) fn require_scope(&self, scope: &'static str) -> Result<(), BearerError> {
        if self.0.scopes.contains(scope) {
            Ok(())
        } else {
            Err(BearerError::InsufficientScope(
                "the token lacks the required scope",
            ))
        }
    }
}

#[derive(Debug)]
pub(crate) enum BearerError {
    /// No credentials at all: a bare challenge (RFC 6750 §3.1).
    Missing,
    Invalid(&'static str),
    InsufficientScope(&'static str),
    /// The routes were mounted without their state.
    NoState,
}

impl fmt::Display for BearerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("no bearer token"),
            Self::Invalid(why) | Self::InsufficientScope(why) => f.write_str(why),
            Self::NoState => f.write_str("sandbox state missing"),
        }
    }
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Missing | Self::Invalid(_) => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope(_) => StatusCode::FORBIDDEN,
            Self::NoState => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (error, description) = match self {
            Self::Missing => (
                "invalid_request",
                "send Authorization: Bearer <access token>",
            ),
            Self::Invalid(why) => ("invalid_token", *why),
            Self::InsufficientScope(why) => ("insufficient_scope", *why),
            Self::NoState => ("server_error", "sandbox state missing"),
        };
        let challenge = match self {
            Self::Missing | Self::NoState => "Bearer realm=\"tether-sandbox\"".to_owned(),
            _ => format!(
                "Bearer realm=\"tether-sandbox\", error=\"{error}\", error_description=\"{description}\""
            ),
        };
        HttpResponse::build(self.status_code())
            .insert_header((header::WWW_AUTHENTICATE, challenge))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({ "error": error, "error_description": description }))
    }
}

impl FromRequest for Bearer {
    type Error = BearerError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req))
    }
}

fn extract(req: &HttpRequest) -> Result<Bearer, BearerError> {
    let state = req
        .app_data::<Data<SandboxState>>()
        .ok_or(BearerError::NoState)?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(BearerError::Missing)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or(BearerError::Invalid(
            "the Authorization header is not a Bearer token",
        ))?;
    let info = state.store().access_info(token).map_err(|problem| {
        BearerError::Invalid(match problem {
            AccessProblem::Unknown => "the access token is unknown",
            AccessProblem::Expired => "the access token has expired",
            AccessProblem::Revoked => "the access token was revoked",
        })
    })?;
    Ok(Bearer(info))
}
