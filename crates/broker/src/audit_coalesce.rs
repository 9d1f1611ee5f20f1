//! Coalescing token-read audit records before a batch is written: reads by the same actor of
//! the same integration, with the same detail (the purpose), the same outcome and from the same
//! client address and user agent, become one record
//! carrying `count` and the times of the first and last read. Every read is still accounted
//! for; a hot integration read a thousand times a second costs a handful of rows, not a
//! thousand. Other actions are never merged.

use std::collections::HashMap;

use serde_json::{Value, json};
use tether_core::audit::{AuditAction, AuditEvent};

/// What makes two token reads the same record.
fn key(event: &AuditEvent) -> Option<String> {
    if event.action != AuditAction::TokenRead {
        return None;
    }
    Some(format!(
        "{}|{}|{:?}|{:?}|{}|{:?}|{:?}|{:?}|{:?}",
        event.actor.kind(),
        event.actor.id_text().unwrap_or_default(),
        event.integration_id,
        event.user_id,
        event.success,
        event.error_message,
        event.detail.as_ref().map(Value::to_string),
        event.ip_address,
        event.user_agent,
    ))
}

/// Merges token reads in `events` (order of first appearance kept).
pub(crate) fn coalesce(events: Vec<AuditEvent>) -> Vec<AuditEvent> {
    let mut out: Vec<AuditEvent> = Vec::with_capacity(events.len());
    let mut counts: Vec<u64> = Vec::with_capacity(events.len());
    let mut index: HashMap<String, usize> = HashMap::new();
    for event in events {
        let Some(k) = key(&event) else {
            out.push(event);
            counts.push(1);
            continue;
        };
        match index.get(&k) {
            Some(&i) => {
                counts[i] += 1;
                let merged = &mut out[i];
                let last = event.created_at.max(merged.created_at);
                merged.created_at = event.created_at.min(merged.created_at);
                let detail = merged.detail.get_or_insert_with(|| json!({}));
                if let Value::Object(map) = detail {
                    map.insert("last_at".into(), json!(last.to_rfc3339()));
                }
            }
            None => {
                index.insert(k, out.len());
                out.push(event);
                counts.push(1);
            }
        }
    }
    for (event, count) in out.iter_mut().zip(counts) {
        if count > 1
            && let Some(Value::Object(map)) = event.detail.as_mut()
        {
            map.insert("count".into(), json!(count));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};
    use tether_core::IntegrationId;
    use tether_core::audit::Actor;

    use super::*;

    fn read(id: IntegrationId, purpose: Option<&str>, offset_ms: i64) -> AuditEvent {
        let mut e = AuditEvent::new(Actor::System, AuditAction::TokenRead);
        e.integration_id = Some(id);
        e.detail = purpose.map(|p| json!({ "purpose": p }));
        e.created_at = Utc::now() + Duration::milliseconds(offset_ms);
        e
    }

    #[test]
    fn identical_reads_become_one_record_with_a_count() {
        let (a, b) = (IntegrationId::new(), IntegrationId::new());
        let events = vec![
            read(a, Some("sync"), 0),
            read(b, Some("sync"), 1),
            read(a, Some("sync"), 2),
            read(a, Some("other"), 3),
            read(a, Some("sync"), 4),
            AuditEvent::new(Actor::System, AuditAction::TokenRefreshed),
            AuditEvent::new(Actor::System, AuditAction::TokenRefreshed),
        ];
        let first = events[0].created_at;
        let out = coalesce(events);
        assert_eq!(
            out.len(),
            5,
            "a×3 sync, b, a other, and two refreshes never merged"
        );
        assert_eq!(out[0].detail.as_ref().unwrap()["count"], 3);
        assert_eq!(out[0].created_at, first);
        assert!(out[0].detail.as_ref().unwrap()["last_at"].is_string());
        assert!(
            out[1].detail.as_ref().unwrap().get("count").is_none(),
            "a single read has no count"
        );
        let total: u64 = out
            .iter()
            .filter(|e| e.action == AuditAction::TokenRead)
            .map(|e| {
                e.detail
                    .as_ref()
                    .and_then(|d| d["count"].as_u64())
                    .unwrap_or(1)
            })
            .sum();
        assert_eq!(total, 5, "every read is accounted for");
    }

    #[test]
    fn failed_and_successful_reads_stay_apart() {
        let id = IntegrationId::new();
        let ok = read(id, None, 0);
        let failed = read(id, None, 1).failed("reauth_required");
        assert_eq!(coalesce(vec![ok.clone(), failed, ok]).len(), 2);
    }
}
