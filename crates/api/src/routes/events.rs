//! `GET /events`: the event feed, for backends that pull instead of receiving webhooks.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use tokio::time::Instant;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::dto::{EventOut, EventPageOut};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::openapi::enums::EventType;
use crate::state::ApiState;

/// How often a long poll looks for new events (other replicas write them too).
const POLL_EVERY: Duration = Duration::from_millis(250);
/// The longest long poll.
const MAX_WAIT_SECS: u64 = 30;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Events after this position (`seq` of the last event you processed, or `next_after` of
    /// the last page); 0 or absent for the oldest kept.
    #[param(minimum = 0)]
    after: Option<i64>,
    /// At most this many (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u64>,
    /// Only these event types, comma-separated (e.g.
    /// `integration.reauth_required,integration.revoked`).
    #[param(value_type = Option<Vec<EventType>>, style = Form, explode = false)]
    types: Option<String>,
    /// Long poll: when nothing is there yet, wait up to this many seconds for the first
    /// event before answering an empty page.
    #[param(minimum = 0, maximum = 30)]
    wait: Option<u64>,
}

/// Read the event feed.
///
/// Status changes in commit order, resumable from any position: a consumer that was down
/// catches up without loss, as long as it comes back within the retention (30 days by
/// default). Service and admin keys.
#[utoipa::path(
    operation_id = "read_events",
    tag = "events",
    params(EventParams),
    responses(
        (status = 200, description = "Events after `after`, oldest first", body = EventPageOut),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 403, description = "Users cannot read the feed", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/events")]
pub async fn feed(
    caller: Caller,
    state: web::Data<ApiState>,
    params: web::Query<EventParams>,
) -> ApiResult<HttpResponse> {
    if caller.require_service().is_err() {
        caller.require_admin().map_err(|_| {
            ApiError::forbidden("The event feed is for service and admin API keys.")
        })?;
    }
    let params = params.into_inner();
    let after = params.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad_request(
            "invalid_request",
            "after must be 0 or more.",
        ));
    }
    let limit = params.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::bad_request(
            "invalid_request",
            "limit must be between 1 and 1000.",
        ));
    }
    let wait = params.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::bad_request(
            "invalid_request",
            format!("wait must be at most {MAX_WAIT_SECS} seconds."),
        ));
    }
    let types = params
        .types
        .as_deref()
        .map(parse_types)
        .transpose()?
        .unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(wait);
    let events = loop {
        let events = state.stores.events.list_after(after, limit, &types).await?;
        if !events.is_empty() || Instant::now() >= deadline {
            break events;
        }
        tokio::time::sleep(POLL_EVERY.min(deadline - Instant::now())).await;
    };
    let next_after = events.last().map_or(after, |e| e.seq);
    Ok(HttpResponse::Ok().json(EventPageOut {
        events: events.into_iter().map(EventOut::from).collect(),
        next_after,
    }))
}

fn parse_types(text: &str) -> ApiResult<Vec<tether_core::events::EventType>> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<tether_core::events::EventType>()
                .map_err(|e| ApiError::bad_request("invalid_event_type", e.to_string()))
        })
        .collect()
}
