//! `/healthz` (liveness), `/readyz` (database and Redis), `/metrics` (Prometheus).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::ApiState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    /// Each dependency: `ok` or what is wrong.
    pub checks: BTreeMap<String, String>,
    /// How this replica works now, without making it unready. `read_cache`: `coherent`
    /// (every replica's changes arrive; entries live until the refresh point), `short` (no
    /// invalidation bus: SQLite without Redis), `degraded` (the invalidation subscription is
    /// lost: the cache was cleared and serves short entries until it is back) or `off`.
    #[schema(example = json!({"read_cache": "coherent (redis)"}))]
    pub detail: BTreeMap<String, String>,
}

/// Liveness.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Tether runs", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the database (and Redis when configured) answer.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Every dependency answers", body = Readiness),
        (status = 503, description = "A dependency does not answer; `checks` says which", body = Readiness),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<ApiState>) -> HttpResponse {
    let mut checks = BTreeMap::new();
    let mut ready = true;
    for check in &state.readiness {
        let outcome = match check.check().await {
            Ok(()) => "ok".to_owned(),
            Err(e) => {
                ready = false;
                e
            }
        };
        checks.insert(check.name().to_owned(), outcome);
    }
    let mut detail = BTreeMap::new();
    let cache = match state.broker().read_cache_stats() {
        None => "off".to_owned(),
        Some(stats) => match (stats.mode, state.broker().invalidation_bus()) {
            (mode, Some(bus)) => format!("{} ({bus})", mode.as_str()),
            (mode, None) => mode.as_str().to_owned(),
        },
    };
    detail.insert("read_cache".to_owned(), cache);
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" }.into(),
        checks,
        detail,
    };
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// The content type of `/metrics`: the OpenMetrics text format, which Prometheus reads.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Prometheus metrics.
///
/// In the OpenMetrics text format.
#[utoipa::path(
    tag = "operations",
    responses((
        status = 200,
        description = "The metrics",
        body = String,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"
    ))
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<ApiState>,
    limiters: Option<web::Data<std::sync::Arc<crate::middleware::Limiters>>>,
) -> HttpResponse {
    let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let metrics = &state.metrics;
    metrics.api_key_lookups.set(gauge(state.api_keys.lookups()));
    metrics
        .api_key_cache_entries
        .set(gauge(state.api_keys.cached() as u64));
    if let Some(limiters) = limiters {
        metrics
            .rate_limit_keys
            .set(gauge(limiters.tracked_keys() as u64));
    }
    if let Some(cache) = state.broker().read_cache_stats() {
        let coherent = cache.mode == tether_broker::ReadCacheMode::Coherent;
        metrics.read_cache_coherent.set(i64::from(coherent));
        metrics.read_cache_entries.set(gauge(cache.entries));
        metrics.read_cache_bytes.set(gauge(cache.bytes));
        metrics
            .read_cache_invalidations
            .set(gauge(cache.invalidations_received));
        metrics
            .read_cache_subscriptions_lost
            .set(gauge(cache.subscriptions_lost));
    }
    HttpResponse::Ok()
        .content_type(OPENMETRICS)
        .body(state.metrics.render())
}
