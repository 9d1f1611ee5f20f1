//! Admin: provider configuration entered at run time (client credentials, endpoint
//! overrides, options such as an OpenEMR site URL), checked before it is saved, applied at
//! once; and a test of a provider configuration. Client secrets are stored encrypted and
//! never returned.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tether_core::provider_config::{ProviderConfig, ProviderConfigInput};
use tether_core::secret::ClientSecret;
use utoipa::{IntoParams, ToSchema};

use super::provider;
use crate::auth::AdminCaller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::openapi::enums::Provider;
use crate::state::ApiState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InstanceQuery {
    /// The configuration instance (e.g. an OpenEMR site); the default one when absent.
    #[param(max_length = 128, pattern = r"^[^/\x00-\x1F\x7F-\x9F]*$")]
    instance: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfigIn {
    /// Not only spaces.
    #[schema(min_length = 1, max_length = 512, pattern = r"\S")]
    pub client_id: String,
    /// Write-only. Absent: keep the stored secret.
    pub client_secret: Option<String>,
    /// Endpoint name → URL, replacing the production defaults (see docs/providers/).
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// Provider options (`tenant`, `region`, `notion_version`, …; see docs/providers/).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// OpenEMR: the site's base URL.
    pub site_url: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderConfigOut {
    #[schema(value_type = Provider)]
    pub provider: String,
    pub instance: String,
    pub client_id: String,
    /// Whether a client secret is stored (it is never returned).
    pub client_secret_set: bool,
    pub endpoints: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub site_url: Option<String>,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<ProviderConfig> for ProviderConfigOut {
    fn from(c: ProviderConfig) -> Self {
        Self {
            provider: c.provider.to_string(),
            instance: c.instance,
            client_id: c.client_id,
            client_secret_set: c.client_secret.is_some(),
            endpoints: c.endpoint_overrides,
            options: c.options,
            site_url: c.site_url,
            enabled: c.enabled,
            updated_at: c.updated_at,
            version: c.version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderTestOut {
    pub ok: bool,
    pub detail: String,
}

fn instance_of(query: &InstanceQuery) -> ApiResult<String> {
    let instance = query.instance.clone().unwrap_or_default();
    crate::provider_admin::check_instance(&instance)?;
    Ok(instance)
}

/// List stored provider configurations.
#[utoipa::path(
    operation_id = "list_provider_configs",
    tag = "admin",
    responses(
        (status = 200, description = "Every stored configuration (client secrets never shown)", body = Vec<ProviderConfigOut>),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/admin/providers")]
pub async fn list(_caller: AdminCaller, state: web::Data<ApiState>) -> ApiResult<HttpResponse> {
    let configs = state.stores.provider_configs.list().await?;
    Ok(HttpResponse::Ok().json(
        configs
            .into_iter()
            .map(ProviderConfigOut::from)
            .collect::<Vec<_>>(),
    ))
}

/// Get a provider configuration.
#[utoipa::path(
    operation_id = "get_provider_config",
    tag = "admin",
    params(("provider" = Provider, Path, description = "Provider name"), InstanceQuery),
    responses(
        (status = 200, description = "The stored configuration", body = ProviderConfigOut),
        (status = 400, description = "Bad instance (`invalid_instance`)", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
        (status = 404, description = "Unknown provider, or not configured through the API", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/admin/providers/{provider}")]
pub async fn get_one(
    _caller: AdminCaller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: web::Query<InstanceQuery>,
) -> ApiResult<HttpResponse> {
    let kind = provider(&path)?;
    let config = state
        .stores
        .provider_configs
        .get(kind, &instance_of(&query)?)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "not_found",
                "No stored configuration for this provider instance.",
            )
        })?;
    Ok(HttpResponse::Ok().json(ProviderConfigOut::from(config)))
}

/// Set a provider configuration.
///
/// Checked by building the provider first (a configuration that cannot work is refused with
/// the reason), then stored — the client secret encrypted — and applied at once. Stored
/// configurations take precedence over the file and environment.
#[utoipa::path(
    operation_id = "put_provider_config",
    tag = "admin",
    params(("provider" = Provider, Path, description = "Provider name"), InstanceQuery),
    request_body = ProviderConfigIn,
    responses(
        (status = 200, description = "Stored and applied", body = ProviderConfigOut),
        (status = 400, description = "The configuration cannot work (`invalid_provider_config`; the message says why), or a bad instance", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
        (status = 404, description = "Unknown provider", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[put("/admin/providers/{provider}")]
pub async fn put_one(
    AdminCaller(caller): AdminCaller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: web::Query<InstanceQuery>,
    body: web::Json<ProviderConfigIn>,
) -> ApiResult<HttpResponse> {
    let kind = provider(&path)?;
    let instance = instance_of(&query)?;
    let body = body.into_inner();
    let input = ProviderConfigInput {
        provider: kind,
        instance,
        client_id: body.client_id,
        client_secret: body.client_secret.map(ClientSecret::new),
        redirect_base: None,
        endpoint_overrides: body.endpoints,
        site_url: body.site_url,
        options: body.options,
        enabled: body.enabled,
    };
    let saved = state.save_provider_config(caller.actor(), input).await?;
    Ok(HttpResponse::Ok().json(ProviderConfigOut::from(saved)))
}

/// Delete a stored provider configuration.
///
/// The file or environment configuration (or the sandbox) applies again.
#[utoipa::path(
    operation_id = "delete_provider_config",
    tag = "admin",
    params(("provider" = Provider, Path, description = "Provider name"), InstanceQuery),
    responses(
        (status = 204, description = "Deleted: the file or environment configuration (or the sandbox) applies again"),
        (status = 400, description = "Bad instance (`invalid_instance`)", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
        (status = 404, description = "Unknown provider, or not configured through the API", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[delete("/admin/providers/{provider}")]
pub async fn delete_one(
    AdminCaller(caller): AdminCaller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: web::Query<InstanceQuery>,
) -> ApiResult<HttpResponse> {
    let kind = provider(&path)?;
    let instance = instance_of(&query)?;
    if !state
        .delete_provider_config(caller.actor(), kind, &instance)
        .await?
    {
        return Err(ApiError::not_found(
            "not_found",
            "No stored configuration for this provider instance.",
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Test a provider configuration.
///
/// Checks what can be checked without a user: the endpoints answer, OpenEMR's discovery
/// document and FHIR server, an Orange app token.
#[utoipa::path(
    operation_id = "test_provider_config",
    tag = "admin",
    params(("provider" = Provider, Path, description = "Provider name"), InstanceQuery),
    responses(
        (status = 200, description = "What was checked and how it went", body = ProviderTestOut),
        (status = 400, description = "Bad instance (`invalid_instance`)", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
        (status = 404, description = "Unknown provider", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/admin/providers/{provider}/test")]
pub async fn test(
    AdminCaller(caller): AdminCaller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: web::Query<InstanceQuery>,
) -> ApiResult<HttpResponse> {
    let kind = provider(&path)?;
    let instance = instance_of(&query)?;
    let test = state
        .test_provider_config(caller.actor(), kind, &instance)
        .await?;
    let out = ProviderTestOut {
        ok: test.ok,
        detail: test.detail,
    };
    Ok(HttpResponse::Ok().json(out))
}
