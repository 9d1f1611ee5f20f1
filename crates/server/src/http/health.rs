//! Liveness and readiness probes: `/healthz` says the process answers, `/readyz` that its
//! dependencies (the database) do too.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use sea_orm::DatabaseConnection;
use serde_json::json;

const PING_TIMEOUT: Duration = Duration::from_secs(2);

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz);
}

/// Liveness: 200 whenever the process can answer.
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: 200 when the database answers a ping, 503 naming the failing check otherwise.
#[get("/readyz")]
async fn readyz(conn: web::Data<DatabaseConnection>) -> HttpResponse {
    let database = match tokio::time::timeout(PING_TIMEOUT, conn.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: the database ping failed");
            "error"
        }
        Err(_) => {
            tracing::warn!("readiness: the database ping timed out");
            "timeout"
        }
    };
    if database == "ok" {
        HttpResponse::Ok().json(json!({ "status": "ready", "checks": { "database": "ok" } }))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "not_ready", "checks": { "database": database } }))
    }
}
