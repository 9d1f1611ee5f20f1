//! The OpenAPI document's frame: info, tags, security schemes, the shared answers and the
//! closed enums. Paths and schemas are collected from the handlers registered with
//! `service()` (utoipa-actix-web), so none is missing from the spec.

mod common;
pub mod enums;

pub(crate) use common::add_common_answers;

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tether",
        description = "Connect people's external accounts (Google, Microsoft, Notion, YouTube, Dexcom, \
OpenEMR, Orange SMS) and keep their tokens valid, encrypted and audited.\n\n\
Callers: **users** send `Authorization: Bearer <JWT>` from the product's auth system; **services and \
operators** send `Authorization: Bearer tk_…` (an API key with the `service` or `admin` role). A service \
key acts for a user by naming them in `X-Tether-User`.\n\n\
Every error has the body `{\"code\", \"message\"}` with a stable `code`, and every status an \
operation can answer is listed with it. A method a documented path does not serve answers 405 \
with `Allow`; a CORS preflight from an origin that is not allowed answers 400 `cors_refused`. \
(Only a request head beyond the HTTP layer's own limit — 128 KiB, or more than 96 headers — is \
refused before Tether sees it, with an empty 431.)"
    ),
    components(schemas(
        ErrorBody,
        enums::Provider,
        enums::UserProvider,
        enums::IntegrationStatus,
        enums::AuditAction,
        enums::ActorKind,
        enums::ApiKeyRole,
        enums::ScopeCategory,
        enums::EventType,
        enums::EventReason,
        enums::DeliveryStatus,
        enums::ProviderStatus,
        enums::GrantType,
        enums::ProviderRevocation,
        enums::SmsEncoding,
        enums::ScopeText,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "providers", description = "Which providers are available"),
        (name = "connect", description = "The connect flow (authorize → start → callback)"),
        (name = "integrations", description = "Connected accounts"),
        (name = "tokens", description = "Valid tokens for backend services"),
        (name = "audit", description = "The audit trail"),
        (name = "events", description = "Status-change events: the feed (webhooks deliver the same events)"),
        (name = "proxy", description = "Calls to a provider's API as the user"),
        (name = "sms", description = "Orange SMS for backend services"),
        (name = "admin", description = "Provider configuration and API keys (admin keys)"),
        (name = "webhooks", description = "Signed webhooks delivering the events: endpoints, secrets, deliveries, redelivery (admin keys)"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "user_jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A user's JWT from the product's auth system; `sub` is the user id.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Bearer tk_…`: a service or admin API key (`tether api-keys create`).",
            ))),
        );
    }
}
