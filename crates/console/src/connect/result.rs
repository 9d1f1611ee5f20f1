//! The result page, `GET /connect/result?session=…&outcome=…`: where the connect flow's
//! callback sends the browser. It says in plain words what happened, then returns to the
//! session's `return_to` with the outcome, or — in popup mode — posts the outcome to the
//! opener (`/connect/result.js`, target origin = the session's allowed origin) and closes.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use tether_api::ApiState;
use tether_broker::ConnectSessionResult;
use tether_core::connect_session::ConnectTarget;
use tether_core::{Integration, ProviderKind};

use super::{frame, refusal, respond};

/// What the callback appended to the result URL.
#[derive(Debug, Deserialize)]
pub(crate) struct ResultQuery {
    #[serde(default)]
    session: String,
    #[serde(default)]
    outcome: String,
    integration_id: Option<String>,
}

/// How a connect session ended, as the page and the frontend see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Connected,
    InsufficientScopes,
    Denied,
    Expired,
    AccountMismatch,
    Error,
}

impl Outcome {
    /// The callback's outcome; anything else is an error (the query is the browser's).
    fn parse(text: &str) -> Self {
        match text {
            "connected" => Self::Connected,
            "insufficient_scopes" => Self::InsufficientScopes,
            "denied" => Self::Denied,
            "expired" => Self::Expired,
            "account_mismatch" => Self::AccountMismatch,
            _ => Self::Error,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::InsufficientScopes => "insufficient_scopes",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::AccountMismatch => "account_mismatch",
            Self::Error => "error",
        }
    }
}

/// The outcome checked against the session, and the words for it.
struct Said {
    outcome: Outcome,
    title: &'static str,
    text: String,
    integration: Option<Integration>,
}

fn say(result: &ConnectSessionResult, reported: Outcome, provider: ProviderKind) -> Said {
    let name = provider.display_name();
    let integration = result.integration.clone();
    let upgrade = result.session.upgrade.as_ref();
    // An outcome that names an integration is believed only when it is this user's
    // integration of the chosen provider (and, for an upgrade, the one being upgraded).
    let outcome = match (reported, &integration, upgrade) {
        (Outcome::Connected | Outcome::InsufficientScopes, None, _) => Outcome::Error,
        (Outcome::Connected | Outcome::InsufficientScopes, Some(i), Some(u))
            if i.id != u.integration_id =>
        {
            Outcome::AccountMismatch
        }
        (o, _, _) => o,
    };
    let label = integration
        .as_ref()
        .and_then(|i| i.account_label.clone())
        .map(|l| format!(" ({l})"))
        .unwrap_or_default();
    let (title, text) = match outcome {
        Outcome::Connected => match (upgrade, &integration) {
            (Some(u), Some(i)) => {
                let added: Vec<_> = u
                    .extra_scopes
                    .iter()
                    .filter(|s| i.granted_scopes.contains(s))
                    .map(|s| s.as_str())
                    .collect();
                let what = if added.is_empty() {
                    "did not allow the added permissions".to_owned()
                } else {
                    format!("now also allows: {}", added.join(", "))
                };
                (
                    "Access updated",
                    format!("Your {name} account{label} is still the same connection and {what}."),
                )
            }
            _ => (
                "Connected",
                format!("Your {name} account{label} is connected."),
            ),
        },
        Outcome::InsufficientScopes => (
            "Missing permissions",
            match &integration {
                Some(i) => format!(
                    "{name} did not allow everything the app needs (missing: {}). Connect \
                     again and allow them.",
                    i.requested_scopes
                        .missing_from(&i.granted_scopes)
                        .to_delimited()
                ),
                None => format!(
                    "{name} did not allow everything the app needs. Connect again and allow \
                     them."
                ),
            },
        ),
        Outcome::Denied => (
            "Not connected",
            format!("You did not allow access at {name}; nothing was connected."),
        ),
        Outcome::Expired => (
            "Took too long",
            "The sign-in took too long and expired; nothing was connected. Start again from \
             the app."
                .to_owned(),
        ),
        Outcome::AccountMismatch => (
            "A different account",
            format!(
                "You signed in to {name} with a different account than the one being updated; \
                 nothing was changed. Start again and use the same account."
            ),
        ),
        Outcome::Error => (
            "Something went wrong",
            format!("Connecting {name} did not finish. Start again from the app."),
        ),
    };
    Said {
        outcome,
        title,
        text,
        integration,
    }
}

pub(crate) async fn show(
    state: web::Data<ApiState>,
    query: web::Query<ResultQuery>,
) -> HttpResponse {
    let result = match state
        .connect_sessions
        .result(&query.session, query.integration_id.as_deref())
        .await
    {
        Ok(result) => result,
        Err(e) => return refusal(e),
    };
    let Some(provider) = result.session.chosen_provider else {
        return refusal(tether_broker::BrokerError::ConnectSessionUnknown);
    };
    let said = say(&result, Outcome::parse(&query.outcome), provider);
    let integration_id = said
        .integration
        .as_ref()
        .filter(|_| said.outcome != Outcome::AccountMismatch)
        .map(|i| i.id.to_string());
    let markup = match &result.session.target {
        ConnectTarget::ReturnTo(url) => {
            let back = back_url(url, &said, integration_id.as_deref(), provider);
            redirect_page(&said, &back)
        }
        ConnectTarget::Opener(origin) => {
            popup_page(&said, origin, integration_id.as_deref(), provider)
        }
    };
    respond(StatusCode::OK, markup)
}

/// `return_to` with `outcome`, `message`, `provider` and `integration_id` added.
fn back_url(
    return_to: &str,
    said: &Said,
    integration_id: Option<&str>,
    provider: ProviderKind,
) -> String {
    let Ok(mut url) = url::Url::parse(return_to) else {
        return return_to.to_owned();
    };
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("outcome", said.outcome.as_str());
        query.append_pair("message", &said.text);
        query.append_pair("provider", provider.as_str());
        if let Some(id) = integration_id {
            query.append_pair("integration_id", id);
        }
    }
    url.to_string()
}

fn redirect_page(said: &Said, back: &str) -> Markup {
    frame(
        said.title,
        // Back to the app after a moment, without script.
        html! { meta http-equiv="refresh" content=(format!("3;url={back}")); },
        html! {
            p role="status" data-outcome=(said.outcome.as_str()) { (said.text) }
            p { a href=(back) { "Continue to the app" } }
        },
    )
}

fn popup_page(
    said: &Said,
    origin: &str,
    integration_id: Option<&str>,
    provider: ProviderKind,
) -> Markup {
    frame(
        said.title,
        html! { script src="/connect/result.js" defer {} },
        html! {
            p role="status" { (said.text) }
            div id="tether-connect-result" hidden
                data-origin=(origin)
                data-outcome=(said.outcome.as_str())
                data-integration-id=[integration_id]
                data-provider=(provider.as_str()) {}
            p id="tether-connect-no-opener" hidden {
                "You can close this window and go back to the app."
            }
        },
    )
}

/// The popup's script: posts the outcome to the opener, restricted to the allowed origin.
pub(crate) async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../assets/connect-result.js"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_popup_page_loads_only_its_script_and_escapes_what_it_shows() {
        let said = Said {
            outcome: Outcome::Connected,
            title: "Connected",
            text: "<script>alert(1)</script>".to_owned(),
            integration: None,
        };
        let page = popup_page(
            &said,
            "https://app.example.com\"><script>",
            Some("id-1"),
            ProviderKind::Google,
        )
        .into_string();
        assert_eq!(page.matches("<script").count(), 1, "{page}");
        assert!(page.contains("<script src=\"/connect/result.js\" defer></script>"));
        assert!(page.contains("data-origin=\"https://app.example.com&quot;&gt;&lt;script&gt;\""));
        assert!(page.contains("data-integration-id=\"id-1\""));
        assert!(
            !page.contains("style="),
            "no inline style: the CSP allows none"
        );
    }

    #[test]
    fn unknown_outcomes_are_errors() {
        for text in [
            "connected",
            "insufficient_scopes",
            "denied",
            "expired",
            "account_mismatch",
        ] {
            assert_eq!(Outcome::parse(text).as_str(), text);
        }
        assert_eq!(Outcome::parse("pwned"), Outcome::Error);
        assert_eq!(Outcome::parse(""), Outcome::Error);
    }
}
