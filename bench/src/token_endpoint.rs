//! The loopback token endpoint of the refresh-scheduler benchmark: `POST /token` rotates
//! `bench-rt-{n}.{generation}` refresh tokens after a configurable delay and answers a reused
//! one with `invalid_grant`, like a provider with reuse detection; `GET /stats` and
//! `POST /stats/reset` expose and zero the counters.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;

use crate::rotation::{Presented, Rotation, refresh_token};
use crate::seed::SCOPES;

/// How the endpoint behaves.
#[derive(Debug, Clone, Copy)]
pub struct EndpointConfig {
    pub port: u16,
    /// Time a successful refresh takes, like a provider's round trip.
    pub delay: Duration,
}

#[derive(Debug)]
struct Shared {
    rotation: Rotation,
    delay: Duration,
}

/// Serves on 127.0.0.1 until the process is stopped.
pub async fn serve(config: EndpointConfig) -> std::io::Result<()> {
    let shared = web::Data::from(Arc::new(Shared {
        rotation: Rotation::default(),
        delay: config.delay,
    }));
    HttpServer::new(move || {
        App::new()
            .app_data(shared.clone())
            .route("/token", web::post().to(token))
            .route("/stats", web::get().to(stats))
            .route("/stats/reset", web::post().to(reset))
    })
    .bind(("127.0.0.1", config.port))?
    .run()
    .await
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

fn invalid_grant(description: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({
        "error": "invalid_grant",
        "error_description": description,
    }))
}

async fn token(
    shared: web::Data<Shared>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let presented = match (form.get("grant_type"), form.get("refresh_token")) {
        (Some(grant), Some(token)) if grant == "refresh_token" => shared.rotation.present(token),
        _ => {
            shared.rotation.count_unknown();
            Presented::Unknown
        }
    };
    match presented {
        Presented::Current { n, next } => {
            tokio::time::sleep(shared.delay).await;
            shared.rotation.answered(now_ms());
            HttpResponse::Ok().json(json!({
                "access_token": format!("bench-at-{n}.{next}-{}", "x".repeat(120)),
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": refresh_token(n, next),
                "scope": SCOPES,
            }))
        }
        Presented::Reused => invalid_grant("refresh token reuse detected"),
        Presented::Unknown => invalid_grant("unknown refresh token"),
    }
}

async fn stats(shared: web::Data<Shared>) -> HttpResponse {
    let s = shared.rotation.stats();
    HttpResponse::Ok().json(json!({
        "refreshes": s.refreshes,
        "reuse": s.reuse,
        "unknown": s.unknown,
        "first_at_ms": s.first_at_ms,
        "last_at_ms": s.last_at_ms,
    }))
}

async fn reset(shared: web::Data<Shared>) -> HttpResponse {
    shared.rotation.reset_stats();
    HttpResponse::NoContent().finish()
}
