//! The picker: `GET /connect?token=…` lists the offered providers with the permissions each
//! will be asked for, in the catalogue's plain words with broad access marked; `POST
//! /connect` (the token and the chosen provider) spends the link and sends the browser into
//! the connect flow's start step. The form carries the link's token, which is also what a
//! CSRF token would be: a secret another site cannot know.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use tether_api::ApiState;
use tether_broker::{BrokerError, ConnectOffer, ConnectSessionView};
use tether_core::scope_catalog::ScopeCatalogEntry;
use tether_core::{ProviderKind, Scope, ScopeSet};

use super::{client_info, frame, refusal, respond};

#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChooseForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    provider: String,
}

pub(crate) async fn show(
    state: web::Data<ApiState>,
    query: web::Query<TokenQuery>,
) -> HttpResponse {
    let view = match state.connect_sessions.view(&query.token).await {
        Ok(view) => view,
        Err(e) => return refusal(e),
    };
    if view.offers.is_empty() {
        return refusal(BrokerError::InvalidInput(
            "None of the services this link offers is available right now.".to_owned(),
        ));
    }
    let mut catalogue = HashMap::new();
    for offer in &view.offers {
        // Plain words are a nicety: without the catalogue the scope names are shown.
        let entries = state
            .stores
            .scopes
            .list(Some(offer.provider))
            .await
            .unwrap_or_default();
        for entry in entries {
            catalogue.insert((entry.provider, entry.scope.clone()), entry);
        }
    }
    respond(
        actix_web::http::StatusCode::OK,
        page(&view, &query.token, &catalogue),
    )
}

pub(crate) async fn choose(
    state: web::Data<ApiState>,
    form: web::Form<ChooseForm>,
    req: HttpRequest,
) -> HttpResponse {
    let Ok(provider) = form.provider.parse::<ProviderKind>() else {
        return refusal(BrokerError::InvalidInput(
            "Pick one of the services on the page.".to_owned(),
        ));
    };
    match state
        .connect_sessions
        .choose(&form.token, provider, &client_info(&req, &state))
        .await
    {
        Ok(start) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, start.to_string()))
            .finish(),
        Err(e) => refusal(e),
    }
}

type Catalogue = HashMap<(ProviderKind, Scope), ScopeCatalogEntry>;

fn page(view: &ConnectSessionView, token: &str, catalogue: &Catalogue) -> Markup {
    let title = match &view.upgrading {
        Some(integration) => format!(
            "Allow more access to {}",
            integration.provider.display_name()
        ),
        None => "Connect an account".to_owned(),
    };
    frame(
        &title,
        html! {},
        html! {
            @if let Some(integration) = &view.upgrading {
                p {
                    "The app asks for more access to your connected "
                    (integration.provider.display_name()) " account"
                    @if let Some(label) = &integration.account_label { " (" (label) ")" }
                    ". Sign in with the same account; it stays the same connection."
                }
            } @else {
                p { "Choose the service to connect. You will sign in there and decide what to allow." }
            }
            @for offer in &view.offers {
                (offer_section(offer, token, catalogue))
            }
        },
    )
}

fn offer_section(offer: &ConnectOffer, token: &str, catalogue: &Catalogue) -> Markup {
    let name = offer.provider.display_name();
    html! {
        section aria-labelledby=(format!("offer-{}", offer.provider)) {
            h2 id=(format!("offer-{}", offer.provider)) {
                (name) @if !offer.instance.is_empty() { " — " (offer.instance) }
            }
            @match &offer.already_granted {
                Some(already) => {
                    @let added = offer.scopes.missing_from(already);
                    p { "Added now:" }
                    (scope_list(offer.provider, &added, catalogue))
                    @let kept = offer.scopes.missing_from(&added);
                    @if !kept.is_empty() {
                        p { "Already allowed (kept):" }
                        (scope_list(offer.provider, &kept, catalogue))
                    }
                }
                None => {
                    p { (name) " will be asked for:" }
                    (scope_list(offer.provider, &offer.scopes, catalogue))
                }
            }
            form.stack method="post" action="/connect" {
                input type="hidden" name="token" value=(token);
                button type="submit" name="provider" value=(offer.provider.as_str()) {
                    "Continue with " (name)
                }
            }
        }
    }
}

fn scope_list(provider: ProviderKind, scopes: &ScopeSet, catalogue: &Catalogue) -> Markup {
    html! {
        ul.scopes {
            @for scope in scopes.iter() {
                @match catalogue.get(&(provider, scope.clone())) {
                    Some(entry) => li {
                        strong { (entry.display_name) } ": " (entry.description)
                        @if entry.is_dangerous {
                            " " strong.error { "(broad access)" }
                        }
                    },
                    None => li { code { (scope.as_str()) } },
                }
            }
        }
    }
}
