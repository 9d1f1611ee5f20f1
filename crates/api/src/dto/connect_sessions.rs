//! Connect-session DTOs: what a backend sends to create a hosted connect link, and the answer
//! carrying the link (a secret: shown once, never stored).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::openapi::enums::{ScopeText, UserProvider};

/// Create a hosted connect link for a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectSessionIn {
    /// The product's user id the connected account will belong to.
    #[schema(min_length = 1, max_length = 255, example = "user-42")]
    pub user_id: String,
    /// The providers the page offers, in this order; every configured provider users connect
    /// when absent. With `upgrade`: absent, or only the integration's provider.
    #[schema(value_type = Option<Vec<UserProvider>>, example = json!(["google", "notion"]))]
    pub providers: Option<Vec<String>>,
    /// Scopes to request per provider (the provider's defaults for a provider not named);
    /// required scopes are always added. Not used with `upgrade`.
    #[schema(
        value_type = Option<BTreeMap<String, Vec<ScopeText>>>,
        example = json!({"google": ["openid", "email", "https://www.googleapis.com/auth/calendar.readonly"]})
    )]
    pub scopes: Option<BTreeMap<String, Vec<String>>>,
    /// Redirect mode: where the browser goes when it is done, with `outcome`,
    /// `integration_id` and `provider` in the query. Checked against the configured
    /// `return_to` allowlist. Exactly one of `return_to` and `opener_origin`.
    #[schema(
        max_length = 2048,
        example = "https://app.example.com/settings/integrations"
    )]
    pub return_to: Option<String>,
    /// Popup mode: the origin of the window that opens the link; the result page posts the
    /// outcome to it (`postMessage`, this target origin only) and closes. Must be the origin
    /// of one of the configured `return_to` URLs.
    #[schema(max_length = 255, example = "https://app.example.com")]
    pub opener_origin: Option<String>,
    /// The configuration instance per provider, e.g. `{"openemr": "clinic-a"}` for a
    /// clinic's OpenEMR site (as configured with `PUT /admin/providers/openemr?instance=…`
    /// or in the console); providers not named use their usual one. Not used with `upgrade`
    /// (the integration's own instance is).
    #[schema(value_type = Option<BTreeMap<String, String>>, example = json!({"openemr": "clinic-a"}))]
    pub instances: Option<BTreeMap<String, String>>,
    /// Ask more of an existing integration (incremental authorization): the same account,
    /// the same integration id, the scopes it has plus these.
    pub upgrade: Option<ConnectUpgradeIn>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectUpgradeIn {
    /// The user's integration to upgrade.
    #[schema(format = Uuid, value_type = String)]
    pub integration_id: String,
    /// The scopes to add.
    #[schema(value_type = Vec<ScopeText>, min_items = 1, example = json!(["https://www.googleapis.com/auth/calendar.events"]))]
    pub scopes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectSessionOut {
    #[schema(format = Uuid, value_type = String)]
    pub id: String,
    /// Open this link in the user's browser (a redirect, or a popup in `opener_origin` mode).
    /// It works once, until `expires_at`; it is a secret, so do not log it.
    #[schema(example = "https://tether.example.com/connect?token=…")]
    pub url: String,
    pub expires_at: DateTime<Utc>,
    /// The providers the page offers.
    #[schema(value_type = Vec<UserProvider>)]
    pub providers: Vec<String>,
    /// `redirect` (`return_to`) or `popup` (`opener_origin`).
    #[schema(example = "popup")]
    pub mode: String,
    /// The integration being upgraded, if any.
    #[schema(format = Uuid, value_type = Option<String>)]
    pub upgrade_integration_id: Option<String>,
}
