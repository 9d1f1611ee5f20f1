//! `/console/audit` (admins): the audit log, newest first, filtered by user, integration,
//! action, actor and time range, 50 records a page with a link to the older ones. The filter
//! form is a GET form (it changes nothing, so it carries no CSRF token — a token in a URL
//! would end up in history and logs). `/console/audit.csv` exports the same query.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use tether_core::audit::{Actor, ActorKind, AuditAction, AuditQuery, AuditRecord};
use tether_core::ids::AuditId;
use tether_core::{IntegrationId, UserId};

use crate::page::{self, Nav, page, respond};
use crate::session::Signed;
use crate::{ConsoleError, ConsoleState};

/// Records on one page.
pub(super) const PAGE_SIZE: u64 = 50;

/// The filter as typed (query string); every field may be empty.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(crate) struct AuditFilter {
    pub user_id: String,
    pub integration_id: String,
    pub action: String,
    pub actor_kind: String,
    pub actor_id: String,
    pub since: String,
    pub until: String,
    pub before: String,
}

impl AuditFilter {
    /// The query it asks for, or what is wrong with it in words.
    pub(super) fn to_query(&self) -> Result<AuditQuery, String> {
        let mut problems = Vec::new();
        let mut query = AuditQuery::default();
        let mut check = |result: Result<(), String>| {
            if let Err(e) = result {
                problems.push(e);
            }
        };
        check(parse_opt(&self.user_id, |t| {
            query.user_id = Some(UserId::parse(t).map_err(|e| format!("User id: {e}."))?);
            Ok(())
        }));
        check(parse_opt(&self.integration_id, |t| {
            query.integration_id = Some(
                t.parse::<IntegrationId>()
                    .map_err(|_| "Integration id: give the integration's UUID.".to_owned())?,
            );
            Ok(())
        }));
        check(parse_opt(&self.action, |t| {
            query.action = Some(
                t.parse::<AuditAction>()
                    .map_err(|e| format!("Action: {e}."))?,
            );
            Ok(())
        }));
        check(parse_opt(&self.actor_kind, |t| {
            query.actor_kind = Some(
                t.parse::<ActorKind>()
                    .map_err(|e| format!("Actor kind: {e}."))?,
            );
            Ok(())
        }));
        check(parse_opt(&self.actor_id, |t| {
            if t.chars().count() > 255 {
                return Err("Actor id: at most 255 characters.".to_owned());
            }
            query.actor_id = Some(t.to_owned());
            Ok(())
        }));
        check(parse_opt(&self.since, |t| {
            query.since = Some(parse_time(t).map_err(|e| format!("Since: {e}"))?);
            Ok(())
        }));
        check(parse_opt(&self.until, |t| {
            query.until = Some(parse_time(t).map_err(|e| format!("Until: {e}"))?);
            Ok(())
        }));
        check(parse_opt(&self.before, |t| {
            query.before = Some(
                t.parse::<AuditId>()
                    .map_err(|_| "The paging cursor is not a record id.".to_owned())?,
            );
            Ok(())
        }));
        if let (Some(since), Some(until)) = (query.since, query.until)
            && since > until
        {
            problems.push("Since must not be after until.".to_owned());
        }
        if problems.is_empty() {
            Ok(query)
        } else {
            Err(problems.join(" "))
        }
    }

    /// The query string of this filter with another paging cursor (`None`: the newest page).
    pub(super) fn query_string(&self, before: Option<AuditId>) -> String {
        let before = before.map(|b| b.to_string()).unwrap_or_default();
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("user_id", self.user_id.as_str()),
            ("integration_id", &self.integration_id),
            ("action", &self.action),
            ("actor_kind", &self.actor_kind),
            ("actor_id", &self.actor_id),
            ("since", &self.since),
            ("until", &self.until),
            ("before", &before),
        ] {
            if !value.trim().is_empty() {
                out.append_pair(name, value.trim());
            }
        }
        out.finish()
    }
}

fn parse_opt(text: &str, set: impl FnOnce(&str) -> Result<(), String>) -> Result<(), String> {
    match text.trim() {
        "" => Ok(()),
        t => set(t),
    }
}

/// A time as RFC 3339, or as a browser's `datetime-local` field sends it (read as UTC).
pub(super) fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(at.and_utc());
        }
    }
    Err("give a time like 2026-12-01T14:30 (UTC) or an RFC 3339 time.".to_owned())
}

/// `10000` as `10,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How an actor reads in the log.
pub(super) fn actor_text(actor: &Actor) -> String {
    match actor.id_text() {
        Some(id) => format!("{} {id}", actor.kind()),
        None => actor.kind().to_string(),
    }
}

pub(crate) async fn show(
    signed: Signed,
    state: web::Data<ConsoleState>,
    filter: Option<web::Query<AuditFilter>>,
) -> Result<HttpResponse, ConsoleError> {
    signed.require_admin()?;
    // An unreadable query string (e.g. a repeated field) is a bad filter, not a crash.
    let Some(filter) = filter.map(web::Query::into_inner) else {
        return Ok(respond(
            StatusCode::BAD_REQUEST,
            audit_page(
                &signed,
                &AuditFilter::default(),
                None,
                Some("The filter could not be read."),
            ),
        ));
    };
    let mut query = match filter.to_query() {
        Ok(query) => query,
        Err(problem) => {
            return Ok(respond(
                StatusCode::BAD_REQUEST,
                audit_page(&signed, &filter, None, Some(&problem)),
            ));
        }
    };
    query.limit = PAGE_SIZE + 1;
    let mut records = state.stores.audit.query(&query).await?;
    let older = (records.len() as u64 > PAGE_SIZE).then(|| {
        records.truncate(PAGE_SIZE as usize);
        records.last().map(|r| r.id)
    });
    Ok(respond(
        StatusCode::OK,
        audit_page(&signed, &filter, Some((&records, older.flatten())), None),
    ))
}

fn audit_page(
    signed: &Signed,
    filter: &AuditFilter,
    results: Option<(&[AuditRecord], Option<AuditId>)>,
    error: Option<&str>,
) -> Markup {
    page(
        "Audit log",
        signed,
        Nav::Audit,
        html! {
            (page::error(error))
            form.filters method="get" action="/console/audit" {
                div {
                    label for="f-user" { "User id" }
                    input id="f-user" name="user_id" type="text" maxlength="255" value=(filter.user_id);
                }
                div {
                    label for="f-integration" { "Integration id" }
                    input id="f-integration" name="integration_id" type="text" maxlength="36" value=(filter.integration_id);
                }
                div {
                    label for="f-action" { "Action" }
                    select id="f-action" name="action" {
                        option value="" { "any" }
                        @for action in AuditAction::ALL {
                            option value=(action.as_str()) selected[filter.action == action.as_str()] { (action.as_str()) }
                        }
                    }
                }
                div {
                    label for="f-actor-kind" { "Actor kind" }
                    select id="f-actor-kind" name="actor_kind" {
                        option value="" { "any" }
                        @for kind in ActorKind::ALL {
                            option value=(kind.as_str()) selected[filter.actor_kind == kind.as_str()] { (kind.as_str()) }
                        }
                    }
                }
                div {
                    label for="f-actor-id" { "Actor id" small { "A user id, API key id, console account id or operator name" } }
                    input id="f-actor-id" name="actor_id" type="text" maxlength="255" value=(filter.actor_id);
                }
                div {
                    label for="f-since" { "Since (UTC)" }
                    input id="f-since" name="since" type="datetime-local" value=(filter.since);
                }
                div {
                    label for="f-until" { "Until (UTC)" }
                    input id="f-until" name="until" type="datetime-local" value=(filter.until);
                }
                div.actions {
                    button type="submit" { "Filter" }
                    " "
                    a href="/console/audit" { "Clear" }
                }
            }
            @if let Some((records, older)) = results {
                p {
                    a href={ "/console/audit.csv?" (filter.query_string(None)) } { "Export these records as CSV" }
                    " (newest first, at most " (thousands(super::audit_csv::EXPORT_CAP)) " records)"
                }
                @if records.is_empty() {
                    p { "No audit records match." }
                } @else {
                    (table(records))
                }
                nav.paging aria-label="Pages" {
                    @if !filter.before.trim().is_empty() {
                        a href={ "/console/audit?" (filter.query_string(None)) } { "Newest" }
                        " "
                    }
                    @if let Some(older) = older {
                        a href={ "/console/audit?" (filter.query_string(Some(older))) } rel="next" { "Older" }
                    }
                }
            }
        },
    )
}

fn table(records: &[AuditRecord]) -> Markup {
    html! {
        div.table { table.audit {
            thead { tr {
                th scope="col" { "Time (UTC)" } th scope="col" { "Actor" } th scope="col" { "Action" }
                th scope="col" { "Provider" } th scope="col" { "Integration" } th scope="col" { "User" }
                th scope="col" { "Result" } th scope="col" { "IP" } th scope="col" { "Detail" }
            } }
            tbody { @for r in records { (row(r)) } }
        } }
    }
}

fn row(record: &AuditRecord) -> Markup {
    let e = &record.event;
    html! {
        tr {
            td { (e.created_at.format("%Y-%m-%d %H:%M:%S")) }
            td {
                @match &e.actor {
                    Actor::Console(id) => { "console " a href={ "/console/accounts/" (id) } { (id) } }
                    actor => (actor_text(actor)),
                }
            }
            td { (e.action) }
            td { @match e.provider { Some(p) => (p.display_name()), None => "—" } }
            td {
                @match e.integration_id {
                    Some(id) => a href={ "/console/integrations/" (id) } { (id) },
                    None => "—",
                }
            }
            td { @match &e.user_id { Some(u) => (u), None => "—" } }
            td {
                @if e.success { "ok" } @else {
                    span.error { "failed" }
                    @if let Some(m) = &e.error_message { br; small { (m) } }
                }
            }
            td { (e.ip_address.as_deref().unwrap_or("—")) }
            td { @if let Some(d) = &e.detail { code.detail { (d.to_string()) } } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_bad_values_are_explained() {
        let filter = AuditFilter {
            action: "token_read".into(),
            actor_kind: "api_key".into(),
            since: "2026-12-01T10:00".into(),
            until: "2026-12-01T11:00:00Z".into(),
            ..AuditFilter::default()
        };
        let query = filter.to_query().unwrap();
        assert_eq!(query.action, Some(AuditAction::TokenRead));
        assert_eq!(query.actor_kind, Some(ActorKind::ApiKey));
        assert_eq!(
            query.since.unwrap().to_rfc3339(),
            "2026-12-01T10:00:00+00:00"
        );
        let bad = AuditFilter {
            action: "deleted".into(),
            integration_id: "nope".into(),
            since: "yesterday".into(),
            ..AuditFilter::default()
        };
        let problem = bad.to_query().unwrap_err();
        for part in ["Action", "Integration id", "Since"] {
            assert!(problem.contains(part), "{problem}");
        }
        let backwards = AuditFilter {
            since: "2026-12-02T00:00".into(),
            until: "2026-12-01T00:00".into(),
            ..AuditFilter::default()
        };
        assert!(backwards.to_query().is_err());
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn the_query_string_keeps_the_filter_and_encodes_it() {
        let filter = AuditFilter {
            actor_id: "ops@host & co".into(),
            before: "ignored".into(),
            ..AuditFilter::default()
        };
        let id = AuditId::new();
        assert_eq!(
            filter.query_string(Some(id)),
            format!("actor_id=ops%40host+%26+co&before={id}")
        );
        assert_eq!(filter.query_string(None), "actor_id=ops%40host+%26+co");
    }
}
