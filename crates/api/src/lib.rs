//! Tether's REST API (actix-web, documented with OpenAPI): what the frontend, backend
//! services and operators call. The server builds an [`ApiState`] and serves [`app`].

pub mod auth;
mod client_addr;
pub mod dto;
mod error;
mod methods;
mod metrics;
mod middleware;
mod openapi;
mod pages;
mod provider_admin;
pub mod routes;
mod state;

use std::sync::Arc;

use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, web};
use utoipa::OpenApi as _;
use utoipa_actix_web::{AppExt, UtoipaApp, scope};
use utoipa_swagger_ui::SwaggerUi;

pub use client_addr::TrustedProxies;
pub use error::{ApiError, ApiResult, ErrorBody};
pub use metrics::Metrics;
pub use middleware::Limiters;
pub use openapi::ApiDoc;
pub use provider_admin::{ProviderTest, check_instance};
pub use state::{
    ApiConfig, ApiState, ApiStores, ProviderSource, ReadinessCheck, SiteDiscovery,
    SiteRegistration, SiteRegistrationRequest,
};

/// Largest JSON body accepted.
const JSON_LIMIT: usize = 64 * 1024;

/// Registers every documented route.
fn routes<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    use routes::*;
    app.openapi(ApiDoc::openapi())
        .service(home::home)
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(
            // The token read is the hot path: registered first, it is matched first.
            scope::scope("/api/v1")
                .service(tokens::read_token)
                .service(providers::list_providers)
                .service(oauth::authorize)
                .service(oauth::start)
                .service(oauth::callback)
                .service(connect_sessions::create)
                .service(integrations::list)
                .service(proxy::proxy_get)
                .service(proxy::proxy_post)
                .service(proxy::proxy_put)
                .service(proxy::proxy_patch)
                .service(proxy::proxy_delete)
                .service(integrations::consents)
                .service(integrations::refresh)
                .service(integrations::test)
                .service(integrations::get_one)
                .service(integrations::disconnect)
                .service(audit::query)
                .service(events::feed)
                .service(sms::send)
                .service(sms::balance)
                .service(admin_providers::list)
                .service(admin_providers::test)
                .service(admin_providers::get_one)
                .service(admin_providers::put_one)
                .service(admin_providers::delete_one)
                .service(admin_keys::list)
                .service(admin_keys::create)
                .service(admin_keys::revoke)
                .service(admin_webhooks::list)
                .service(admin_webhooks::create)
                .service(admin_webhooks::get_one)
                .service(admin_webhooks::update)
                .service(admin_webhooks::delete_one)
                .service(admin_webhooks::rotate_secret)
                .service(admin_webhooks::test)
                .service(admin_webhooks::deliveries)
                .service(admin_webhooks::redeliver)
                .service(admin_webhooks::redeliver_since),
        )
}

/// The OpenAPI document of every route (what `/api-docs/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut spec = routes(App::new().into_utoipa_app()).split_for_parts().1;
    openapi::add_common_answers(&mut spec);
    spec
}

fn bad_input(message: String) -> actix_web::Error {
    ApiError::bad_request("invalid_request", message).into()
}

/// A JSON body that cannot be used: too large (413), not JSON (415), or not what the
/// operation takes (400).
fn bad_json(e: actix_web::error::JsonPayloadError) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    use actix_web::http::StatusCode;
    match e {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The JSON body is larger than {JSON_LIMIT} bytes."),
        )
        .into(),
        E::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as JSON, with `Content-Type: application/json`.",
        )
        .into(),
        e => bad_input(format!("The JSON body is not valid: {e}")),
    }
}

/// No route: 405 with `Allow` for a documented path asked with another method, else 404.
async fn not_found(
    req: HttpRequest,
    methods: web::Data<methods::DocumentedMethods>,
) -> HttpResponse {
    if let Some(allow) = methods.allowed(&req) {
        let mut response = actix_web::ResponseError::error_response(&ApiError::new(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not served here; allowed: {allow}.", req.method()),
        ));
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
            response
                .headers_mut()
                .insert(actix_web::http::header::ALLOW, value);
        }
        return response;
    }
    actix_web::ResponseError::error_response(&ApiError::not_found(
        "not_found",
        format!(
            "No route for {} {}; see /docs.",
            req.method(),
            req.path().chars().take(100).collect::<String>()
        ),
    ))
}

/// The whole HTTP application. `extra` mounts more services (the embedded sandbox).
pub fn app(
    state: web::Data<ApiState>,
    limiters: Arc<Limiters>,
    extra: impl FnOnce(&mut web::ServiceConfig),
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors_origins = state.config.cors_origins.clone();
    let (app, mut spec) = routes(App::new().into_utoipa_app()).split_for_parts();
    openapi::add_common_answers(&mut spec);
    let methods = web::Data::new(methods::DocumentedMethods::from_spec(&spec));
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
        ])
        .max_age(600);
    for origin in &cors_origins {
        cors = cors.allowed_origin(origin);
    }
    app.app_data(state)
        .app_data(web::Data::new(limiters))
        .app_data(methods)
        .app_data(
            web::JsonConfig::default()
                .limit(JSON_LIMIT)
                .error_handler(|e, _| bad_json(e)),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| bad_input(format!("The query string is not valid: {e}"))),
        )
        .app_data(
            web::PathConfig::default()
                .error_handler(|e, _| bad_input(format!("The path is not valid: {e}"))),
        )
        .service(SwaggerUi::new("/docs/{_:.*}").url("/api-docs/openapi.json", spec))
        .configure(extra)
        .default_service(web::to(not_found))
        .wrap(from_fn(middleware::rate_limit))
        .wrap(cors)
        .wrap(from_fn(middleware::security_headers))
}
