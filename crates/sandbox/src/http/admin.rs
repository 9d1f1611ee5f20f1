//! The test switches over HTTP, under `/_sandbox/`: the same operations as `SandboxControls`.

use std::time::Duration;

use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpResponse, http::header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::controls::{Failure, GrantType};
use crate::oauth_error::OAuthError;
use crate::state::SandboxState;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/stats", web::get().to(stats))
        .route("/fail", web::post().to(fail))
        .route("/delay", web::post().to(delay))
        .route("/down", web::post().to(down))
        .route("/access-token-ttl", web::post().to(access_token_ttl))
        .route("/expire", web::post().to(expire))
        .route("/reset", web::post().to(reset));
}

/// `{"count": 2, "error": "invalid_grant"}` or `{"count": 1, "status": 503}`, optionally with
/// `"grant_type": "refresh_token"` to fail only that grant type.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailIn {
    count: u32,
    error: Option<String>,
    status: Option<u16>,
    grant_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DelayIn {
    millis: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DownIn {
    down: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TtlIn {
    seconds: u64,
}

/// Expires one access token, all of one client's, or (both absent) every access token.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExpireIn {
    access_token: Option<String>,
    client_id: Option<String>,
}

async fn stats(state: Data<SandboxState>) -> HttpResponse {
    HttpResponse::Ok().json(state.stats())
}

async fn fail(state: Data<SandboxState>, body: Bytes) -> Result<HttpResponse, OAuthError> {
    let input: FailIn = parse(&body)?;
    let failure = match (input.error.as_deref(), input.status) {
        (Some("invalid_grant"), None) => Failure::InvalidGrant,
        (None, Some(status)) if (500..=599).contains(&status) => Failure::Status(status),
        _ => {
            return Err(OAuthError::invalid_request(
                "send either \"error\": \"invalid_grant\" or a 5xx \"status\"",
            ));
        }
    };
    let controls = state.controls();
    match input
        .grant_type
        .as_deref()
        .map(str::parse::<GrantType>)
        .transpose()
    {
        Ok(Some(grant_type)) => controls.fail_next_for(grant_type, input.count, failure),
        Ok(None) => controls.fail_next(input.count, failure),
        Err(problem) => return Err(OAuthError::invalid_request(problem)),
    }
    Ok(HttpResponse::NoContent().finish())
}

async fn delay(state: Data<SandboxState>, body: Bytes) -> Result<HttpResponse, OAuthError> {
    let input: DelayIn = parse(&body)?;
    let delay = (input.millis > 0).then(|| Duration::from_millis(input.millis));
    state.controls().set_delay(delay);
    Ok(HttpResponse::NoContent().finish())
}

async fn down(state: Data<SandboxState>, body: Bytes) -> Result<HttpResponse, OAuthError> {
    let input: DownIn = parse(&body)?;
    state.controls().set_down(input.down);
    Ok(HttpResponse::NoContent().finish())
}

async fn access_token_ttl(
    state: Data<SandboxState>,
    body: Bytes,
) -> Result<HttpResponse, OAuthError> {
    let input: TtlIn = parse(&body)?;
    state
        .controls()
        .set_access_token_ttl(Duration::from_secs(input.seconds));
    Ok(HttpResponse::NoContent().finish())
}

async fn expire(state: Data<SandboxState>, body: Bytes) -> Result<HttpResponse, OAuthError> {
    let input: ExpireIn = if body.is_empty() {
        ExpireIn::default()
    } else {
        parse(&body)?
    };
    let controls = state.controls();
    let expired = match input.access_token.as_deref() {
        Some(token) => usize::from(controls.expire_access_token(token)),
        None => controls.expire_access_tokens(input.client_id.as_deref()),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "expired": expired })))
}

async fn reset(state: Data<SandboxState>) -> HttpResponse {
    state.controls().reset();
    HttpResponse::NoContent().finish()
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, OAuthError> {
    serde_json::from_slice(body)
        .map_err(|e| OAuthError::invalid_request(format!("bad JSON body: {e}")))
}
