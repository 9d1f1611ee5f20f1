//! Closed sets of values as OpenAPI enums, and texts with a fixed form. Where a core enum
//! exists, the listed values are its variants' text forms (from its `ALL`), so the document
//! cannot drift from the code; DTO fields keep their text type and point here with
//! `value_type`.

use tether_core::ProviderKind;
use tether_core::api_key::ApiKeyRole as Role;
use tether_core::audit::{ActorKind as Actor, AuditAction as Action};
use tether_core::events::{EventType as Event, ReasonCode};
use tether_core::integration::IntegrationStatus as Status;
use tether_core::scope_catalog::ScopeCategory as Category;
use tether_core::webhooks::DeliveryStatus as Delivery;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};

/// A string schema allowing exactly `values`.
fn string_enum(description: &str, values: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// One named enum schema: `name = "description", values`.
macro_rules! enum_schema {
    ($($name:ident = $description:literal, $values:expr;)+) => {$(
        #[doc = $description]
        #[derive(Debug)]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string_enum($description, $values)
            }
        }

        impl utoipa::ToSchema for $name {}
    )+};
}

enum_schema! {
    Provider = "A provider.", ProviderKind::ALL.iter().map(|v| v.as_str());
    UserProvider = "A provider users connect their own accounts of (authorization code).",
        ProviderKind::ALL
            .iter()
            .filter(|v| v.grant_kind() == tether_core::provider::GrantKind::AuthorizationCode)
            .map(|v| v.as_str());
    IntegrationStatus = "Where an integration stands.", Status::ALL.iter().map(|v| v.as_str());
    AuditAction = "What an audit record is about.", Action::ALL.iter().map(|v| v.as_str());
    ActorKind = "Who acted.", Actor::ALL.iter().map(|v| v.as_str());
    ApiKeyRole = "What an API key may do: `service` (tokens, proxy, SMS, events) or `admin` (configuration, keys, audit).",
        Role::ALL.iter().map(|v| v.as_str());
    ScopeCategory = "How much a scope lets Tether do.", Category::ALL.iter().map(|v| v.as_str());
    EventType = "What an event is about (see docs/events.md).", Event::ALL.iter().map(|v| v.as_str());
    EventReason = "Why an event happened: a stable code (see docs/events.md).",
        ReasonCode::ALL.iter().map(|v| v.as_str());
    DeliveryStatus = "Where a webhook delivery stands: `failed` means the retry schedule is exhausted.",
        Delivery::ALL.iter().map(|v| v.as_str());
    ProviderStatus = "`configured` (real credentials), `sandbox` (served by the built-in sandbox: not the real provider) or `not_configured`.",
        ["configured", "sandbox", "not_configured"];
    GrantType = "`authorization_code` (users connect) or `client_credentials` (an app-level account).",
        ["authorization_code", "client_credentials"];
    ProviderRevocation = "What disconnecting did at the provider: `not_supported` (the provider has no revocation: remove access there), `failed` (disconnected locally all the same).",
        ["revoked", "not_supported", "nothing_to_revoke", "failed"];
    SmsEncoding = "The character set an SMS is sent in.", ["gsm7", "ucs2"];
}

/// One OAuth scope (RFC 6749 `scope-token`).
#[derive(Debug)]
pub struct ScopeText;

impl utoipa::PartialSchema for ScopeText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .description(Some(
                "One OAuth scope: printable ASCII without spaces, `\"` or `\\`.",
            ))
            .min_length(Some(1))
            .max_length(Some(tether_core::Scope::MAX_LEN))
            .pattern(Some(r"^[\x21\x23-\x5B\x5D-\x7E]+$"))
            .into()
    }
}

impl utoipa::ToSchema for ScopeText {}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    fn values<T: PartialSchema>() -> Vec<String> {
        let RefOr::T(Schema::Object(object)) = T::schema() else {
            panic!("an inline object schema");
        };
        object
            .enum_values
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn enum_schemas_list_every_variant_of_the_core_enum() {
        assert_eq!(values::<Provider>().len(), ProviderKind::ALL.len());
        assert!(values::<Provider>().contains(&"google".to_owned()));
        assert_eq!(values::<ApiKeyRole>(), ["service", "admin"]);
        assert!(!values::<UserProvider>().contains(&"orange".to_owned()));
        assert!(values::<UserProvider>().contains(&"google".to_owned()));
        assert!(values::<AuditAction>().contains(&"token_read".to_owned()));
        assert_eq!(values::<AuditAction>().len(), Action::ALL.len());
        use tether_broker::ProviderRevocation as R;
        let revocations = [
            R::Revoked,
            R::NotSupported,
            R::NothingToRevoke,
            R::Failed {
                message: String::new(),
            },
        ];
        assert_eq!(
            values::<ProviderRevocation>(),
            revocations.map(|r| r.as_str().to_owned())
        );
    }
}
