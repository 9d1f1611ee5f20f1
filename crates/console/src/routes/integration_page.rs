//! One integration's console page: its status in plain words with the last error, requested
//! and granted scopes with the catalogue's descriptions and marks, consents, status history
//! (the events outbox), the latest audit records, and the action buttons.

use std::collections::BTreeSet;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use tether_api::ApiState;
use tether_broker::instance_of;
use tether_core::audit::AuditQuery;
use tether_core::scope_catalog::ScopeCatalogEntry;
use tether_core::{Integration, IntegrationId, IntegrationStatus, Scope};

use super::audit::actor_text;
use crate::page::{Nav, csrf_field, page, respond};
use crate::session::Signed;
use crate::{ConsoleError, ConsoleState};

/// Events and audit records shown on the page (the audit log page has the rest).
const HISTORY: u64 = 30;
const AUDIT: u64 = 20;

/// What the page shows above the details.
pub(crate) enum Extra {
    /// A notice or an error.
    Top(Markup),
    /// A connection test's outcome: the provider's answer, or why it failed.
    Test(Result<String, String>),
}

/// What a status means for the person looking at it.
pub(crate) fn status_words(status: IntegrationStatus) -> &'static str {
    match status {
        IntegrationStatus::Active => "Working: tokens are valid or refreshed before they expire.",
        IntegrationStatus::Degraded => {
            "Temporarily failing (the provider was unreachable or busy); Tether keeps retrying and it recovers by itself."
        }
        IntegrationStatus::ReauthRequired => {
            "Broken until the user connects again: the provider no longer accepts Tether's grant (revoked, expired or password changed)."
        }
        IntegrationStatus::InsufficientScopes => {
            "The user did not grant a permission this integration needs; they must connect again and allow it."
        }
        IntegrationStatus::Revoked => "Disconnected: tokens deleted; kept for its audit trail.",
    }
}

fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "—".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

pub(crate) async fn render(
    signed: &Signed,
    state: &ConsoleState,
    api: &ApiState,
    id: IntegrationId,
    extra: Extra,
) -> Result<HttpResponse, ConsoleError> {
    let integration = api
        .stores
        .integrations
        .get(id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let consents = api.stores.consents.list_for_integration(id).await?;
    let history = api.stores.events.list_for_integration(id, HISTORY).await?;
    let audit = state
        .stores
        .audit
        .query(&AuditQuery {
            integration_id: Some(id),
            limit: AUDIT,
            ..AuditQuery::default()
        })
        .await?;
    let expires = api
        .broker()
        .token_expiries(&[id])
        .await
        .map_err(tether_api::ApiError::from)?
        .get(&id)
        .copied()
        .flatten();
    let catalogue = catalogue(api, &integration).await?;
    let instance = Some(instance_of(&integration)).filter(|s| !s.is_empty());
    let top = match extra {
        Extra::Top(markup) => markup,
        Extra::Test(Ok(detail)) => html! {
            p.notice role="status" { "Connection test passed: " (detail) }
        },
        Extra::Test(Err(why)) => html! {
            p.error role="alert" { "Connection test failed: " (why) }
        },
    };
    let label = integration
        .account_label
        .clone()
        .unwrap_or_else(|| integration.provider_account_id.clone());
    let body = html! {
        (top)
        dl {
            dt { "Provider" } dd { (integration.provider.display_name()) @if let Some(i) = instance { " — " (i) } }
            dt { "Account" } dd { (label) br; small { (integration.provider_account_id) } }
            dt { "User" } dd { (integration.user_id) }
            dt { "Status" } dd { strong { (integration.status) } " — " (status_words(integration.status)) }
            dt { "Last error" } dd { (integration.last_error.as_deref().unwrap_or("none")) }
            dt { "Failures in a row" } dd { (integration.failure_count) }
            dt { "Connected" } dd { (when(Some(integration.created_at))) }
            dt { "Last refreshed" } dd { (when(integration.last_refreshed_at)) }
            dt { "Next refresh" } dd { (when(integration.next_refresh_at)) }
            dt { "Access token expires" } dd { (when(expires)) }
            dt { "Last used" } dd { (when(integration.last_used_at)) }
            dt { "Id" } dd { code { (integration.id) } }
        }
        (actions(signed, &integration))
        h2 { "Permissions" }
        (scopes(&integration, &catalogue))
        h2 { "Consents" }
        @if consents.is_empty() {
            p { "No consent recorded." }
        } @else {
            div.table { table {
                thead { tr { th scope="col" { "Granted" } th scope="col" { "Scopes" } th scope="col" { "Until" } th scope="col" { "Withdrawn" } th scope="col" { "Consent text" } th scope="col" { "From" } } }
                tbody { @for c in consents.iter().rev() { tr {
                    td { (when(Some(c.granted_at))) }
                    td { (c.scopes.to_delimited()) }
                    td { (when(c.expires_at)) }
                    td { (when(c.revoked_at)) }
                    td { (c.consent_version) }
                    td { (c.ip_address.as_deref().unwrap_or("—")) }
                } } }
            } }
        }
        h2 { "Status history" }
        @if history.is_empty() {
            p { "No status change recorded (events are kept for a limited time)." }
        } @else {
            div.table { table {
                thead { tr { th scope="col" { "When" } th scope="col" { "Change" } th scope="col" { "Why" } } }
                tbody { @for e in &history { tr {
                    td { (when(Some(e.event.occurred_at))) }
                    td {
                        @if let Some(before) = &e.event.data.previous_status { (before) " → " }
                        strong { (e.event.data.status) } br; small { (e.event.event_type.as_str()) }
                    }
                    td { (e.event.data.message) br; small { (e.event.data.reason.as_str()) } }
                } } }
            } }
        }
        h2 { "Audit trail" }
        @if audit.is_empty() {
            p { "No audit record." }
        } @else {
            div.table { table {
                thead { tr { th scope="col" { "When" } th scope="col" { "Action" } th scope="col" { "By" } th scope="col" { "Outcome" } } }
                tbody { @for r in &audit { tr {
                    td { (when(Some(r.event.created_at))) }
                    td { (r.event.action.as_str()) }
                    td { (actor_text(&r.event.actor)) }
                    td { @if r.event.success { "ok" } @else { "failed" @if let Some(m) = &r.event.error_message { ": " (m) } } }
                } } }
            } }
        }
        p { a href={ "/console/audit?integration_id=" (integration.id) } { "The whole audit trail of this integration" } }
    };
    Ok(respond(
        StatusCode::OK,
        page(&label, signed, Nav::Integrations, body),
    ))
}

fn actions(signed: &Signed, integration: &Integration) -> Markup {
    let base = format!("/console/integrations/{}", integration.id);
    html! {
        @if integration.status != IntegrationStatus::Revoked {
            div.actions {
                @if integration.status.is_usable() {
                    form.inline method="post" action={ (base) "/refresh" } {
                        (csrf_field(signed))
                        button type="submit" { "Refresh now" }
                    }
                    " "
                    form.inline method="post" action={ (base) "/test" } {
                        (csrf_field(signed))
                        button type="submit" { "Test the connection" }
                    }
                    " "
                }
                a.button.danger href={ (base) "/disconnect" } { "Disconnect…" }
            }
        }
    }
}

/// The scope catalogue of the integration's provider: the live provider's, else the stored one.
async fn catalogue(
    api: &ApiState,
    integration: &Integration,
) -> Result<Vec<ScopeCatalogEntry>, ConsoleError> {
    if let Ok(provider) = api.broker().providers().for_integration(integration) {
        return Ok(provider.scope_catalogue());
    }
    Ok(api.stores.scopes.list(Some(integration.provider)).await?)
}

fn scopes(integration: &Integration, catalogue: &[ScopeCatalogEntry]) -> Markup {
    let all: BTreeSet<&Scope> = integration
        .requested_scopes
        .iter()
        .chain(integration.granted_scopes.iter())
        .collect();
    let missing: Vec<&Scope> = integration
        .requested_scopes
        .iter()
        .filter(|s| !integration.granted_scopes.contains(s))
        .collect();
    html! {
        @if !missing.is_empty() {
            p.error { "Requested but not granted: " @for (n, s) in missing.iter().enumerate() { @if n > 0 { ", " } code { (s) } } "." }
        }
        div.table { table {
            thead { tr { th scope="col" { "Scope" } th scope="col" { "What it allows" } th scope="col" { "Requested" } th scope="col" { "Granted" } } }
            tbody { @for scope in &all {
                @let entry = catalogue.iter().find(|e| e.scope == **scope);
                tr {
                    td {
                        code { (scope) }
                        @if let Some(e) = entry {
                            @if e.is_dangerous { " " span.mark.danger { "broad access" } }
                            @if e.is_required { " " span.mark { "required" } }
                        }
                    }
                    td { @match entry { Some(e) => { strong { (e.display_name) } br; (e.description) }, None => "—" } }
                    td { @if integration.requested_scopes.contains(scope) { "yes" } @else { "no" } }
                    td { @if integration.granted_scopes.contains(scope) { "yes" } @else { strong { "no" } } }
                }
            } }
        } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_plain_words() {
        for status in IntegrationStatus::ALL {
            assert!(status_words(*status).ends_with('.'), "{status}");
        }
    }
}
