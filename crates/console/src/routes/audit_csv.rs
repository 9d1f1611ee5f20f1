//! `/console/audit.csv` (admins): the audit page's query as an RFC 4180 CSV download, newest
//! first, at most [`EXPORT_CAP`] records. Cells a spreadsheet would run as a formula (they
//! start with `=`, `+`, `-`, `@`, a tab or a carriage return) get a leading `'`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use tether_core::audit::AuditRecord;

use super::audit::{AuditFilter, actor_text};
use crate::page::{self, respond};
use crate::session::Signed;
use crate::{ConsoleError, ConsoleState};

/// The most records one export holds; a response header says when there were more.
pub(crate) const EXPORT_CAP: usize = 10_000;
/// Records fetched per query (the repository's own cap).
const BATCH: u64 = 1000;
/// Set (to `true`) when the export stopped at [`EXPORT_CAP`] and older records match too.
pub(crate) const TRUNCATED_HEADER: &str = "tether-export-truncated";

const COLUMNS: [&str; 14] = [
    "id",
    "time",
    "actor_kind",
    "actor_id",
    "actor",
    "action",
    "provider",
    "integration_id",
    "user_id",
    "success",
    "error_message",
    "ip_address",
    "user_agent",
    "detail",
];

/// One CSV field: formula-guarded, quoted when it holds a comma, quote or line break.
fn field(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn line<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    let cells: Vec<String> = cells.into_iter().map(field).collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

fn record_line(out: &mut String, record: &AuditRecord) {
    let e = &record.event;
    let id = record.id.to_string();
    let time = e.created_at.to_rfc3339();
    let actor_id = e.actor.id_text().unwrap_or_default();
    let actor = actor_text(&e.actor);
    let integration = e.integration_id.map(|i| i.to_string()).unwrap_or_default();
    let detail = e.detail.as_ref().map(|d| d.to_string()).unwrap_or_default();
    line(
        out,
        [
            id.as_str(),
            &time,
            e.actor.kind().as_str(),
            &actor_id,
            &actor,
            e.action.as_str(),
            e.provider.map(|p| p.as_str()).unwrap_or_default(),
            &integration,
            e.user_id.as_ref().map(|u| u.as_str()).unwrap_or_default(),
            if e.success { "true" } else { "false" },
            e.error_message.as_deref().unwrap_or_default(),
            e.ip_address.as_deref().unwrap_or_default(),
            e.user_agent.as_deref().unwrap_or_default(),
            &detail,
        ],
    );
}

/// The whole file for `records`.
fn csv(records: &[AuditRecord]) -> String {
    let mut out = String::new();
    line(&mut out, COLUMNS);
    for record in records {
        record_line(&mut out, record);
    }
    out
}

pub(crate) async fn export(
    signed: Signed,
    state: web::Data<ConsoleState>,
    filter: Option<web::Query<AuditFilter>>,
) -> Result<HttpResponse, ConsoleError> {
    signed.require_admin()?;
    let parsed = match filter {
        Some(filter) => filter.to_query(),
        None => Err("The filter could not be read.".to_owned()),
    };
    let mut query = match parsed {
        Ok(query) => query,
        Err(problem) => {
            return Ok(respond(
                StatusCode::BAD_REQUEST,
                page::message("Export refused", &problem),
            ));
        }
    };
    let mut records: Vec<AuditRecord> = Vec::new();
    // One record past the cap tells whether the export is complete.
    while records.len() <= EXPORT_CAP {
        query.limit = BATCH.min((EXPORT_CAP + 1 - records.len()) as u64);
        let batch = state.stores.audit.query(&query).await?;
        let full = batch.len() as u64 == query.limit;
        query.before = batch.last().map(|r| r.id);
        records.extend(batch);
        if !full {
            break;
        }
    }
    let truncated = records.len() > EXPORT_CAP;
    records.truncate(EXPORT_CAP);
    let name = format!(
        "tether-audit-{}.csv",
        state.clock.now().format("%Y%m%dT%H%M%SZ")
    );
    let mut response = HttpResponse::Ok();
    response
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ));
    if truncated {
        response.insert_header((TRUNCATED_HEADER, "true"));
    }
    Ok(response.body(csv(&records)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_core::audit::{Actor, AuditAction, AuditEvent};
    use tether_core::ids::AuditId;

    #[test]
    fn fields_are_quoted_and_guarded_against_formulas() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+1"), "'+1");
        assert_eq!(field("-2"), "'-2");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field(""), "");
    }

    #[test]
    fn a_file_has_a_header_and_one_crlf_line_per_record() {
        let mut event = AuditEvent::new(Actor::System, AuditAction::KeysRotated).failed("a, b");
        event.detail = Some(serde_json::json!({ "k": "v" }));
        let text = csv(&[AuditRecord {
            id: AuditId::new(),
            event,
        }]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("id,time,actor_kind,"));
        assert!(lines[1].contains(",system,,system,keys_rotated,"));
        assert!(lines[1].contains(",false,\"a, b\","));
        assert!(
            lines[1].ends_with(",\"{\"\"k\"\":\"\"v\"\"}\""),
            "{}",
            lines[1]
        );
        assert_eq!(lines[2], "");
    }
}
