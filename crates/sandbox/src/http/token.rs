//! `POST /oauth/token`: authorization_code (PKCE S256), refresh_token (rotation, reuse
//! detection) and client_credentials, behind the test switches.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use super::client_auth::{authenticate, claimed_client_id};
use super::params::Params;
use crate::config::ClientConfig;
use crate::controls::{Failure, GrantType};
use crate::crypto::is_valid_pkce_value;
use crate::oauth_error::{ErrorCode, OAuthError};
use crate::scope::Scopes;
use crate::state::SandboxState;
use crate::store::Issued;
use crate::switchboard::Gate;

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    scope: String,
}

pub(crate) async fn token(
    state: Data<SandboxState>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, OAuthError> {
    let params = Params::from_form(&req, &body)?;
    let grant_name = params.one("grant_type")?;
    let grant_type = grant_name.and_then(|g| g.parse::<GrantType>().ok());
    if let Some(client_id) = claimed_client_id(&state, &req, &params) {
        state
            .switchboard()
            .record_token_call(&client_id, grant_type);
    }
    let gate = state.switchboard().token_gate(grant_type);
    pass_gate(gate).await?;
    let client = authenticate(&state, &req, &params)?;
    let grant_type = match (grant_name, grant_type) {
        (None, _) => {
            return Err(OAuthError::invalid_request(
                "parameter grant_type is required",
            ));
        }
        (Some(_), None) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "this grant_type is not supported",
            ));
        }
        (Some(_), Some(grant_type)) => grant_type,
    };
    let issued = match grant_type {
        GrantType::AuthorizationCode => authorization_code(&state, client, &params),
        GrantType::RefreshToken => refresh_token(&state, client, &params),
        GrantType::ClientCredentials => client_credentials(&state, client, &params),
    }
    .inspect_err(|e| tracing::info!(client_id = %client.client_id, %grant_type, error = e.code.as_str(), "token request refused"))?;
    tracing::info!(client_id = %client.client_id, %grant_type, scope = %issued.scopes, "tokens issued");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(TokenResponse {
            access_token: &issued.access_token,
            token_type: "Bearer",
            expires_in: issued.expires_in.as_secs(),
            refresh_token: issued.refresh_token.as_deref(),
            scope: issued.scopes.to_string(),
        }))
}

fn authorization_code(
    state: &SandboxState,
    client: &ClientConfig,
    params: &Params,
) -> Result<Issued, OAuthError> {
    let code = params.required("code")?;
    let redirect_uri = params.required("redirect_uri")?;
    let verifier = params.required("code_verifier")?;
    if !is_valid_pkce_value(verifier) {
        return Err(OAuthError::invalid_grant(
            "code_verifier must be 43-128 unreserved characters",
        ));
    }
    let life = state.lifetimes();
    state
        .store()
        .redeem_code(code, &client.client_id, redirect_uri, verifier, life)
}

fn refresh_token(
    state: &SandboxState,
    client: &ClientConfig,
    params: &Params,
) -> Result<Issued, OAuthError> {
    let token = params.required("refresh_token")?;
    let requested = params
        .one("scope")?
        .map(|s| Scopes::parse([s]).map_err(OAuthError::invalid_scope))
        .transpose()?
        .filter(|s| !s.is_empty());
    let life = state.lifetimes();
    state
        .store()
        .refresh(token, &client.client_id, requested, life)
}

fn client_credentials(
    state: &SandboxState,
    client: &ClientConfig,
    params: &Params,
) -> Result<Issued, OAuthError> {
    if client.client_secret.is_none() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients may not use client_credentials",
        ));
    }
    let scopes = match params.one("scope")? {
        Some(scope) => Scopes::parse([scope]).map_err(OAuthError::invalid_scope)?,
        None => Scopes::parse(client.allowed_scopes.iter().map(String::as_str))
            .map_err(OAuthError::invalid_scope)?,
    };
    if let Some(denied) = scopes.iter().find(|s| !client.allows_scope(s)) {
        return Err(OAuthError::invalid_scope(format!(
            "scope {denied} is not allowed for this client"
        )));
    }
    let life = state.lifetimes();
    Ok(state
        .store()
        .client_credentials(&client.client_id, scopes, life))
}

/// Applies the switches: down → 503, then the delay, then an armed failure.
pub(super) async fn pass_gate(gate: Gate) -> Result<(), OAuthError> {
    if gate.down {
        return Err(OAuthError::unavailable(
            StatusCode::SERVICE_UNAVAILABLE,
            "the sandbox is switched down",
        ));
    }
    if let Some(delay) = gate.delay {
        tokio::time::sleep(delay).await;
    }
    match gate.failure {
        None => Ok(()),
        Some(Failure::InvalidGrant) => Err(OAuthError::invalid_grant(
            "injected failure (sandbox switch)",
        )),
        Some(Failure::Status(code)) => {
            let status = StatusCode::from_u16(code)
                .ok()
                .filter(StatusCode::is_server_error)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Err(OAuthError::unavailable(
                status,
                "injected failure (sandbox switch)",
            ))
        }
    }
}
