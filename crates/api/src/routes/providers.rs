//! `GET /providers`: every provider, whether it is configured (or served by the sandbox),
//! its capabilities and scope catalogue.

use actix_web::{HttpResponse, get, web};
use tether_core::ProviderKind;
use tether_core::provider::GrantKind;

use crate::auth::Caller;
use crate::dto::{CapabilitiesOut, ProviderOut, ScopeOut};
use crate::error::ApiResult;
use crate::state::ApiState;

/// List providers.
///
/// Every provider Tether knows, with its configuration status, capabilities and scope
/// catalogue. Providers marked `sandbox` are served by the built-in sandbox, not the real
/// provider.
#[utoipa::path(
    tag = "providers",
    responses(
        (status = 200, description = "The providers", body = Vec<ProviderOut>),
    ),
    security(("user_jwt" = []), ("api_key" = []))
)]
#[get("/providers")]
pub async fn list_providers(
    _caller: Caller,
    state: web::Data<ApiState>,
) -> ApiResult<HttpResponse> {
    let broker = state.broker();
    let out: Vec<ProviderOut> = ProviderKind::ALL
        .iter()
        .map(|kind| {
            let configured = broker.providers().get(*kind, "").ok();
            ProviderOut {
                provider: kind.to_string(),
                display_name: kind.display_name().to_owned(),
                status: match &configured {
                    Some(p) if p.is_sandbox() => "sandbox",
                    Some(_) => "configured",
                    None => "not_configured",
                }
                .to_owned(),
                grant: match kind.grant_kind() {
                    GrantKind::AuthorizationCode => "authorization_code",
                    GrantKind::ClientCredentials => "client_credentials",
                }
                .to_owned(),
                capabilities: configured.as_ref().map(|p| {
                    let c = p.capabilities();
                    CapabilitiesOut {
                        revocation: c.revocation,
                        pkce: c.pkce,
                        rotates_refresh_tokens: c.rotates_refresh_tokens,
                    }
                }),
                default_scopes: configured
                    .as_ref()
                    .map(|p| p.default_scopes().iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
                scopes: configured
                    .map(|p| {
                        p.scope_catalogue()
                            .into_iter()
                            .map(ScopeOut::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}
