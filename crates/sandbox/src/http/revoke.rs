//! `POST /oauth/revoke` (RFC 7009): a refresh token revokes its grant, an access token itself,
//! an unknown token is still a 200.

use actix_web::http::header;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};

use super::client_auth::authenticate;
use super::params::Params;
use super::token::pass_gate;
use crate::oauth_error::OAuthError;
use crate::state::SandboxState;
use crate::store::Revoked;

pub(crate) async fn revoke(
    state: Data<SandboxState>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, OAuthError> {
    let params = Params::from_form(&req, &body)?;
    let gate = state.switchboard().revoke_gate();
    pass_gate(gate).await?;
    let client = authenticate(&state, &req, &params)?;
    let token = params.required("token")?;
    // RFC 7009 §2.1: the hint only speeds up the lookup; both kinds are searched anyway.
    let _hint = params.one("token_type_hint")?;
    let outcome = state.store().revoke(token, &client.client_id)?;
    if outcome != Revoked::Nothing {
        state.switchboard().revocations += 1;
    }
    tracing::info!(client_id = %client.client_id, ?outcome, "revocation request");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
