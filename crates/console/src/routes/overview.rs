//! `/console`: the overview. Admins see integrations counted by provider and status, the
//! refresh scheduler's lag (how overdue the oldest due refresh is), the latest refresh
//! failures and the integrations that need attention (degraded, reconnect needed, permission
//! missing); staff see the provider instances granted to them.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use tether_core::audit::{AuditAction, AuditQuery, AuditRecord};
use tether_core::console::ConsoleRole;
use tether_core::ports::RefreshBacklog;
use tether_core::{IntegrationStatus, ProviderKind};

use crate::page::{Nav, csrf_field, page, respond};
use crate::session::Signed;
use crate::{ConsoleError, ConsoleState};

/// How many integrations needing attention are listed.
const ATTENTION_LIMIT: u64 = 50;
/// How many refresh failures are listed.
const FAILURES_LIMIT: u64 = 10;
/// A lag under this is the scheduler's normal rhythm, not a backlog.
const LAG_NOTICE: chrono::Duration = chrono::Duration::minutes(2);

pub(crate) async fn show(
    signed: Signed,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let body = match signed.account.role {
        ConsoleRole::Admin => admin_overview(&state).await?,
        ConsoleRole::Staff => staff_overview(&signed),
    };
    let body = html! {
        (body)
        h2 { "Your sessions" }
        form.stack method="post" action="/console/sign-out-everywhere" {
            (csrf_field(&signed))
            p { "Signed in until " (signed.session.expires_at.format("%Y-%m-%d %H:%M UTC")) "." }
            button type="submit" { "Sign out everywhere" }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page("Overview", &signed, Nav::Overview, body),
    ))
}

async fn admin_overview(state: &ConsoleState) -> Result<Markup, ConsoleError> {
    let counts = state.stores.overview.integration_counts().await?;
    let attention = state
        .stores
        .overview
        .needing_attention(ATTENTION_LIMIT)
        .await?;
    let mut table: BTreeMap<ProviderKind, BTreeMap<IntegrationStatus, u64>> = BTreeMap::new();
    for c in &counts {
        *table
            .entry(c.provider)
            .or_default()
            .entry(c.status)
            .or_default() += c.count;
    }
    let total: u64 = counts.iter().map(|c| c.count).sum();
    let now = state.clock.now();
    let backlog = state.stores.overview.refresh_backlog(now).await?;
    let failures = state
        .stores
        .audit
        .query(&AuditQuery {
            action: Some(AuditAction::RefreshFailed),
            limit: FAILURES_LIMIT,
            ..AuditQuery::default()
        })
        .await?;
    Ok(html! {
        h2 { "Integrations" }
        @if table.is_empty() {
            p { "No integrations yet." }
        } @else {
            div.table {
                table {
                    caption { (total) " integrations by provider and status" }
                    thead { tr {
                        th scope="col" { "Provider" }
                        @for status in IntegrationStatus::ALL { th scope="col" { (status) } }
                    } }
                    tbody {
                        @for (provider, by_status) in &table {
                            tr {
                                th scope="row" { (provider.display_name()) }
                                @for status in IntegrationStatus::ALL {
                                    td { (by_status.get(status).copied().unwrap_or(0)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        (scheduler(&backlog, now))
        (recent_failures(&failures))
        h2 { "Needing attention" }
        @if attention.is_empty() {
            p { "Nothing: no integration is degraded, waiting for a reconnect or missing a permission." }
        } @else {
            p { "Degraded integrations recover by themselves; the others need their user to reconnect." }
            div.table {
                table {
                    thead { tr {
                        th scope="col" { "Provider" }
                        th scope="col" { "Account" }
                        th scope="col" { "User" }
                        th scope="col" { "Status" }
                        th scope="col" { "Last error" }
                        th scope="col" { "Changed" }
                    } }
                    tbody {
                        @for i in &attention {
                            tr {
                                td { (i.provider.display_name()) }
                                td { (i.account_label.as_deref().unwrap_or("—")) br; small { (i.id) } }
                                td { (i.user_id) }
                                td { (i.status) }
                                td { (i.last_error.as_deref().unwrap_or("—")) }
                                td { (i.updated_at.format("%Y-%m-%d %H:%M")) }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// A duration in words a person reads at a glance.
fn span(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs / 60),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

fn scheduler(backlog: &RefreshBacklog, now: chrono::DateTime<chrono::Utc>) -> Markup {
    let lag = backlog.oldest_due_at.map(|at| now - at);
    html! {
        h2 { "Refresh scheduler" }
        @match lag {
            None => p id="scheduler-lag" { "No refresh is due: the scheduler is up to date." },
            Some(lag) => {
                p id="scheduler-lag" class=[(lag >= LAG_NOTICE).then_some("error")] {
                    (backlog.due) " due; the oldest has waited " (span(lag)) "."
                }
                @if lag >= LAG_NOTICE {
                    p { "A lag of minutes means the scheduler is behind or not running: check the server's logs and "
                        code { "/readyz" } "." }
                }
            }
        }
    }
}

fn recent_failures(failures: &[AuditRecord]) -> Markup {
    html! {
        h2 { "Recent refresh failures" }
        @if failures.is_empty() {
            p { "No refresh has failed." }
        } @else {
            div.table { table {
                thead { tr {
                    th scope="col" { "Time (UTC)" } th scope="col" { "Provider" }
                    th scope="col" { "Integration" } th scope="col" { "User" } th scope="col" { "Error" }
                } }
                tbody { @for r in failures { tr {
                    td { (r.event.created_at.format("%Y-%m-%d %H:%M")) }
                    td { @match r.event.provider { Some(p) => (p.display_name()), None => "—" } }
                    td { @match r.event.integration_id {
                        Some(id) => a href={ "/console/integrations/" (id) } { (id) },
                        None => "—",
                    } }
                    td { @match &r.event.user_id { Some(u) => (u), None => "—" } }
                    td { (r.event.error_message.as_deref().unwrap_or("—")) }
                } } }
            } }
            p { a href="/console/audit?action=refresh_failed" { "All refresh failures in the audit log" } }
        }
    }
}

fn staff_overview(signed: &Signed) -> Markup {
    html! {
        h2 { "Your provider instances" }
        @if signed.account.grants.is_empty() {
            p { "No provider instance is granted to your account yet. Ask a console admin." }
        } @else {
            ul { @for grant in &signed.account.grants {
                li { a href={ "/console/providers/" (grant) } { code { (grant) } } }
            } }
        }
        p { "Open an instance to set its credentials and test its connection." }
    }
}
