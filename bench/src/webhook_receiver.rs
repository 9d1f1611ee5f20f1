//! The loopback webhook receiver of the events benchmark: checks each request's Standard
//! Webhooks signature, fails the first attempt of about half the events (those whose id
//! hashes odd) with a 503 unless told not to, and for each event it accepts records the delay
//! from the event's
//! `occurred_at` to its delivery. `GET /stats` reports the counts, the delay percentiles, the
//! span of deliveries and whether any integration's events arrived out of order.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tether_core::secret::WebhookSecret;
use tether_webhooks::signing;

#[derive(Debug, Default)]
struct Counts {
    requests: u64,
    bad_signatures: u64,
    failed_on_purpose: u64,
    /// First attempts seen, by webhook id.
    attempted: HashSet<String>,
    /// Accepted deliveries, by webhook id.
    delivered: HashSet<String>,
    /// Requests for an event already accepted (at-least-once repeats).
    duplicates: u64,
    /// Milliseconds from the event to its (first) accepted delivery.
    delays_ms: Vec<f64>,
    /// The same for events accepted at their first attempt (they may still have waited for
    /// an earlier event of their integration that was being retried).
    first_try_delays_ms: Vec<f64>,
    /// The latest `occurred_at` accepted per integration (or app token).
    last_per_key: HashMap<String, DateTime<Utc>>,
    out_of_order: u64,
    first_at_ms: Option<u64>,
    last_at_ms: Option<u64>,
}

#[derive(Debug)]
struct Shared {
    secret: WebhookSecret,
    fail_first: bool,
    counts: Mutex<Counts>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

fn fails_first(id: &str) -> bool {
    let mut hasher = DefaultHasher::new();
    id.hash(&mut hasher);
    hasher.finish() % 2 == 1
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * (sorted.len() - 1) as f64).round();
    sorted.get(rank as usize).copied()
}

/// Serves on 127.0.0.1:`port` until the process is stopped; `fail_first`: fail the first
/// attempt of about half the events.
pub async fn serve(port: u16, secret: WebhookSecret, fail_first: bool) -> std::io::Result<()> {
    let shared = web::Data::from(Arc::new(Shared {
        secret,
        fail_first,
        counts: Mutex::new(Counts::default()),
    }));
    HttpServer::new(move || {
        App::new()
            .app_data(shared.clone())
            .app_data(web::PayloadConfig::new(64 * 1024))
            .route("/hooks", web::post().to(receive))
            .route("/stats", web::get().to(stats))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> &'a str {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn receive(shared: web::Data<Shared>, request: HttpRequest, body: String) -> HttpResponse {
    let id = header(&request, signing::HEADER_ID).to_owned();
    let timestamp: i64 = header(&request, signing::HEADER_TIMESTAMP)
        .parse()
        .unwrap_or_default();
    let expected = signing::sign(&shared.secret, &id, timestamp, &body).unwrap_or_default();
    let signed = header(&request, signing::HEADER_SIGNATURE)
        .split(' ')
        .any(|s| s == expected);
    let event: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mut counts = shared.counts.lock().unwrap_or_else(|p| p.into_inner());
    counts.requests += 1;
    if !signed {
        counts.bad_signatures += 1;
        return HttpResponse::Unauthorized().finish();
    }
    let first_attempt = counts.attempted.insert(id.clone());
    if first_attempt && shared.fail_first && fails_first(&id) {
        counts.failed_on_purpose += 1;
        return HttpResponse::ServiceUnavailable().body("failing a first attempt on purpose");
    }
    if !counts.delivered.insert(id) {
        counts.duplicates += 1;
        return HttpResponse::NoContent().finish();
    }
    let now = now_ms();
    counts.first_at_ms.get_or_insert(now);
    counts.last_at_ms = Some(now);
    let occurred = event["occurred_at"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    if let Some(occurred) = occurred {
        let delay = (Utc::now() - occurred)
            .num_microseconds()
            .unwrap_or(i64::MAX) as f64
            / 1000.0;
        counts.delays_ms.push(delay);
        if first_attempt {
            counts.first_try_delays_ms.push(delay);
        }
        let key = event["data"]["integration_id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| event["data"]["provider"].to_string());
        match counts.last_per_key.get(&key) {
            Some(last) if *last > occurred => counts.out_of_order += 1,
            _ => {
                counts.last_per_key.insert(key, occurred);
            }
        }
    }
    HttpResponse::NoContent().finish()
}

async fn stats(shared: web::Data<Shared>) -> HttpResponse {
    let counts = shared.counts.lock().unwrap_or_else(|p| p.into_inner());
    let mut delays = counts.delays_ms.clone();
    delays.sort_by(f64::total_cmp);
    let mut first_try = counts.first_try_delays_ms.clone();
    first_try.sort_by(f64::total_cmp);
    HttpResponse::Ok().json(json!({
        "requests": counts.requests,
        "delivered": counts.delivered.len(),
        "failed_on_purpose": counts.failed_on_purpose,
        "duplicates": counts.duplicates,
        "bad_signatures": counts.bad_signatures,
        "out_of_order": counts.out_of_order,
        "delay_p50_ms": percentile(&delays, 0.5),
        "delay_p99_ms": percentile(&delays, 0.99),
        "delay_max_ms": delays.last(),
        "first_try": first_try.len(),
        "first_try_delay_p50_ms": percentile(&first_try, 0.5),
        "first_try_delay_p99_ms": percentile(&first_try, 0.99),
        "first_at_ms": counts.first_at_ms,
        "last_at_ms": counts.last_at_ms,
    }))
}
