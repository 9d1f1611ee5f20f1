//! What a callback ends with: the parameters it takes, the outcome it reports, and the small
//! helpers that build the browser's way back.

use tether_core::provider::Provider;
use tether_core::{IntegrationId, ProviderKind};
use url::Url;

use crate::random;

/// The query of the provider's redirect.
#[derive(Debug, Clone, Default)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub iss: Option<String>,
}

/// Who is on the other end of the request, for consent and audit records.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// How a connect attempt ended, as reported to the frontend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectOutcome {
    Connected,
    InsufficientScopes,
    Denied,
    Expired,
    /// An upgrade (hosted connect page) came back with another account than the
    /// integration's: nothing was stored.
    AccountMismatch,
    Error,
}

impl ConnectOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            ConnectOutcome::Connected => "connected",
            ConnectOutcome::InsufficientScopes => "insufficient_scopes",
            ConnectOutcome::Denied => "denied",
            ConnectOutcome::Expired => "expired",
            ConnectOutcome::AccountMismatch => "account_mismatch",
            ConnectOutcome::Error => "error",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CallbackResult {
    pub outcome: ConnectOutcome,
    /// A message a person can act on.
    pub message: String,
    pub integration_id: Option<IntegrationId>,
    pub provider: ProviderKind,
    /// `return_to` with `outcome`, `message` (and `integration_id`) added. `None` when the
    /// flow could not be trusted (unknown state, wrong browser, wrong provider): the API then
    /// shows a page instead of redirecting anywhere.
    pub redirect_to: Option<Url>,
    /// The binding cookie to clear.
    pub cookie_name: Option<String>,
}

/// The name of the cookie that binds the flow with this `state` to the browser.
pub fn binding_cookie_name(state: &str) -> String {
    format!("tether_oauth_{}", &random::sha256(state)[..16])
}

pub(super) struct Failure {
    pub(super) outcome: ConnectOutcome,
    pub(super) message: String,
    /// Whether the browser may be sent to the flow's `return_to`.
    pub(super) trusted: bool,
}

pub(super) fn fail(outcome: ConnectOutcome, message: impl Into<String>, trusted: bool) -> Failure {
    Failure {
        outcome,
        message: message.into(),
        trusted,
    }
}

pub(super) fn clip(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

pub(super) fn provider_label(provider: &dyn Provider, account: Option<&str>) -> String {
    match account {
        Some(label) => format!("{} ({})", provider.kind().display_name(), clip(label)),
        None => provider.kind().display_name().to_owned(),
    }
}

pub(super) fn with_outcome(
    return_to: &str,
    outcome: ConnectOutcome,
    message: &str,
    integration: Option<IntegrationId>,
) -> Option<Url> {
    let mut url = Url::parse(return_to).ok()?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("outcome", outcome.as_str());
        query.append_pair("message", message);
        if let Some(id) = integration {
            query.append_pair("integration_id", &id.to_string());
        }
    }
    Some(url)
}
