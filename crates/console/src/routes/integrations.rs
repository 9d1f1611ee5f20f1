//! `/console/integrations` (admins): search by user, provider, status and account; an
//! integration's page (see `integration_page`); and its actions — refresh now, test the
//! connection, disconnect after a confirmation page. The actions are the broker's, as for the
//! API, with the console account as actor.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use serde::Deserialize;
use tether_api::{ApiError, ApiState};
use tether_broker::ProviderRevocation;
use tether_core::audit::Actor;
use tether_core::ports::IntegrationSearch;
use tether_core::{IntegrationId, IntegrationStatus, ProviderKind, UserId};

use super::integration_page::{self, Extra};
use super::{CsrfForm, NoticeQuery, client_info, notice_text};
use crate::page::{self, Nav, csrf_field, page, respond, see_other};
use crate::session::Signed;
use crate::{ConsoleError, ConsoleState};

/// Integrations a search page lists.
const PAGE_SIZE: u64 = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SearchQuery {
    user_id: String,
    provider: String,
    status: String,
    account: String,
    page: u64,
}

impl SearchQuery {
    fn to_search(&self) -> Result<IntegrationSearch, String> {
        let user = self.user_id.trim();
        let account = self.account.trim();
        if account.chars().count() > 255 {
            return Err("The account text is too long (255 characters at most).".to_owned());
        }
        Ok(IntegrationSearch {
            user_id: (!user.is_empty())
                .then(|| UserId::parse(user.to_owned()))
                .transpose()
                .map_err(|e| format!("User id: {e}."))?,
            provider: (!self.provider.is_empty())
                .then(|| self.provider.parse::<ProviderKind>())
                .transpose()
                .map_err(|e| format!("Provider: {e}."))?,
            status: (!self.status.is_empty())
                .then(|| self.status.parse::<IntegrationStatus>())
                .transpose()
                .map_err(|e| format!("Status: {e}."))?,
            account: (!account.is_empty()).then(|| account.to_owned()),
            limit: PAGE_SIZE + 1,
            offset: self.page.min(10_000) * PAGE_SIZE,
        })
    }

    /// This search's query string on another page.
    fn on_page(&self, page: u64) -> String {
        let pairs = [
            ("user_id", self.user_id.as_str()),
            ("provider", self.provider.as_str()),
            ("status", self.status.as_str()),
            ("account", self.account.as_str()),
        ];
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(k, v);
        }
        query.append_pair("page", &page.to_string());
        format!("/console/integrations?{}", query.finish())
    }
}

pub(crate) async fn search(
    signed: Signed,
    state: web::Data<ConsoleState>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ConsoleError> {
    signed.require_admin()?;
    let (found, problem) = match query.to_search() {
        Ok(search) => (state.stores.overview.search(&search).await?, None),
        Err(why) => (Vec::new(), Some(why)),
    };
    let more = found.len() as u64 > PAGE_SIZE;
    let shown = &found[..found.len().min(PAGE_SIZE as usize)];
    let selected = |a: &str, b: &str| a == b;
    let body = html! {
        (page::error(problem.as_deref()))
        form.search method="get" action="/console/integrations" {
            label for="f-user" { "User id" }
            input id="f-user" name="user_id" type="text" maxlength="255" value=(query.user_id);
            label for="f-provider" { "Provider" }
            select id="f-provider" name="provider" {
                option value="" { "any" }
                @for kind in ProviderKind::ALL {
                    option value=(kind.as_str()) selected[selected(&query.provider, kind.as_str())] { (kind.display_name()) }
                }
            }
            label for="f-status" { "Status" }
            select id="f-status" name="status" {
                option value="" { "any" }
                @for status in IntegrationStatus::ALL {
                    option value=(status.as_str()) selected[selected(&query.status, status.as_str())] { (status) }
                }
            }
            label for="f-account" { "Account" small { "part of the e-mail or workspace name" } }
            input id="f-account" name="account" type="text" maxlength="255" value=(query.account);
            button type="submit" { "Search" }
        }
        @if shown.is_empty() {
            p { "No integration matches." }
        } @else {
            div.table { table {
                thead { tr {
                    th scope="col" { "Account" } th scope="col" { "Provider" } th scope="col" { "User" }
                    th scope="col" { "Status" } th scope="col" { "Changed" }
                } }
                tbody { @for i in shown { tr {
                    td { a href={ "/console/integrations/" (i.id) } { (i.account_label.as_deref().unwrap_or("(no label)")) } }
                    td { (i.provider.display_name()) }
                    td { (i.user_id) }
                    td { (i.status) }
                    td { (i.updated_at.format("%Y-%m-%d %H:%M")) }
                } } }
            } }
        }
        nav.paging aria-label="Pages" {
            @if query.page > 0 { a href=(query.on_page(query.page - 1)) { "← Newer" } " " }
            @if more { a href=(query.on_page(query.page + 1)) { "Older →" } }
        }
    };
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(respond(
        status,
        page("Integrations", &signed, Nav::Integrations, body),
    ))
}

fn parse_id(text: &str) -> Result<IntegrationId, ConsoleError> {
    text.parse().map_err(|_| ConsoleError::NotFound)
}

pub(crate) async fn show(
    signed: Signed,
    state: web::Data<ConsoleState>,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ConsoleError> {
    signed.require_admin()?;
    let id = parse_id(&path)?;
    let top = page::notice(notice_text(query.notice.as_deref()));
    integration_page::render(&signed, &state, &api, id, Extra::Top(top)).await
}

/// A button on an integration's page: the session's own form, from an admin, about a valid id.
fn posted_by_admin(
    signed: &Signed,
    form: &CsrfForm,
    path: &str,
) -> Result<IntegrationId, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    signed.require_admin()?;
    parse_id(path)
}

fn actor(signed: &Signed) -> Actor {
    Actor::Console(signed.account.id)
}

pub(crate) async fn refresh(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    let id = posted_by_admin(&signed, &form, &path)?;
    api.broker()
        .force_refresh(id, &actor(&signed))
        .await
        .map_err(ApiError::from)?;
    Ok(see_other(&format!(
        "/console/integrations/{id}?notice=integration-refreshed"
    )))
}

pub(crate) async fn test(
    signed: Signed,
    state: web::Data<ConsoleState>,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    let id = posted_by_admin(&signed, &form, &path)?;
    let outcome = match api.broker().test_connection(id, &actor(&signed)).await {
        Ok(report) => Ok(report.detail),
        Err(tether_broker::BrokerError::Provider(e)) => Err(e.to_string()),
        Err(e) => return Err(ApiError::from(e).into()),
    };
    integration_page::render(&signed, &state, &api, id, Extra::Test(outcome)).await
}

/// The confirmation page: what a disconnect does, and the button that does it.
pub(crate) async fn confirm_disconnect(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    signed.require_admin()?;
    let id = parse_id(&path)?;
    let integration = api
        .stores
        .integrations
        .get(id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let label = integration
        .account_label
        .clone()
        .unwrap_or_else(|| integration.provider_account_id.clone());
    let body = html! {
        p { "Disconnect " strong { (label) } " (" (integration.provider.display_name()) ") of user " strong { (integration.user_id) } "?" }
        ul {
            li { "Tether revokes access at the provider where it can, deletes the tokens and keeps the integration as revoked, with its audit trail." }
            li { "The product stops getting tokens for it at once; the user must connect again to use it." }
        }
        form.stack method="post" action={ "/console/integrations/" (id) "/disconnect" } {
            (csrf_field(&signed))
            button.danger type="submit" { "Disconnect" }
        }
        p { a href={ "/console/integrations/" (id) } { "Cancel" } }
    };
    Ok(respond(
        StatusCode::OK,
        page("Disconnect?", &signed, Nav::Integrations, body),
    ))
}

pub(crate) async fn disconnect(
    req: HttpRequest,
    signed: Signed,
    state: web::Data<ConsoleState>,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    let id = posted_by_admin(&signed, &form, &path)?;
    let outcome = api
        .broker()
        .revoke(id, &actor(&signed), &client_info(&req, &state))
        .await
        .map_err(ApiError::from)?;
    let notice = match outcome.provider_revocation {
        ProviderRevocation::Revoked => "disconnected-revoked",
        ProviderRevocation::NotSupported => "disconnected-not-supported",
        ProviderRevocation::NothingToRevoke => "disconnected-nothing",
        ProviderRevocation::Failed { .. } => "disconnected-failed",
    };
    Ok(see_other(&format!(
        "/console/integrations/{id}?notice={notice}"
    )))
}
