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
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" }.into(),
        checks,
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
    HttpResponse::Ok()
        .content_type(OPENMETRICS)
        .body(state.metrics.render())
}
