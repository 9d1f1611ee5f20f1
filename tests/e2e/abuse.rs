//! Made-up credentials cannot make Tether do database work or grow its memory: an address
//! that keeps failing authentication is refused before anything is looked up, limiter state
//! is pruned, and caches keyed by client input stay bounded. Behind a trusted proxy, limits
//! and records use the forwarded client address; otherwise forwarding headers are ignored.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::StatusCode;

use crate::support::{Mode, TestServer, client, user_jwt};

const ATTEMPTS: u64 = 100_000;
const WORKERS: u64 = 64;
const FAILURE_BUDGET: u64 = 20;

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}")) as u64
}

async fn metrics(server: &TestServer) -> String {
    client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn a_flood_of_invented_api_keys_is_refused_without_database_work(mode: Mode) {
    let server = TestServer::with(
        mode,
        &format!("rate_limit_auth_failures_per_minute = {FAILURE_BUDGET}\n"),
    )
    .await;
    let started = std::time::Instant::now();
    let unauthorized = Arc::new(AtomicU64::new(0));
    let limited = Arc::new(AtomicU64::new(0));
    let workers = (0..WORKERS).map(|worker| {
        let url = server.url("/api/v1/integrations");
        let (unauthorized, limited) = (unauthorized.clone(), limited.clone());
        tokio::spawn(async move {
            let http = client();
            for n in (worker..ATTEMPTS).step_by(WORKERS as usize) {
                let answer = http
                    .get(&url)
                    .bearer_auth(format!("tk_invented-{n:08}"))
                    .send()
                    .await
                    .unwrap();
                match answer.status() {
                    StatusCode::UNAUTHORIZED => unauthorized.fetch_add(1, Ordering::Relaxed),
                    StatusCode::TOO_MANY_REQUESTS => limited.fetch_add(1, Ordering::Relaxed),
                    other => panic!("unexpected {other}"),
                };
            }
        })
    });
    for worker in workers.collect::<Vec<_>>() {
        worker.await.unwrap();
    }
    let (unauthorized, limited) = (
        unauthorized.load(Ordering::Relaxed),
        limited.load(Ordering::Relaxed),
    );
    assert_eq!(unauthorized + limited, ATTEMPTS);
    // Each minute the budget, plus requests already past the check when it ran out (at
    // most one per worker).
    let windows = started.elapsed().as_secs() / 60 + 1;
    assert!(
        unauthorized <= windows * (FAILURE_BUDGET + WORKERS),
        "{unauthorized} answered 401, {limited} answered 429 in {windows} minute(s)"
    );
    let text = metrics(&server).await;
    let lookups = metric(&text, "tether_api_key_lookups ");
    assert!(
        lookups <= unauthorized,
        "{lookups} database lookups for {unauthorized} answered requests"
    );
    assert!(metric(&text, "tether_api_key_cache_entries ") <= lookups);
    assert!(
        metric(&text, "tether_rate_limit_keys ") <= 10,
        "limiter state follows client addresses, not invented keys:\n{text}"
    );
}

async fn behind_a_trusted_proxy_the_forwarded_client_is_limited_and_spoofing_is_ignored(
    mode: Mode,
) {
    let trusted = TestServer::with(
        mode,
        "rate_limit_auth_failures_per_minute = 2\ntrusted_proxies = \"127.0.0.1/32\"\n",
    )
    .await;
    let http = client();
    let attempt = |server: &TestServer, client_ip: &str| {
        http.get(server.url("/api/v1/integrations"))
            .bearer_auth("tk_invented")
            .header("x-forwarded-for", client_ip)
            .send()
    };
    // Client A spends its budget; client B behind the same proxy still gets through.
    for _ in 0..2 {
        assert_eq!(
            attempt(&trusted, "198.51.100.1").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt(&trusted, "198.51.100.1").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt(&trusted, "198.51.100.2").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let valid = http
        .get(trusted.url("/api/v1/integrations"))
        .bearer_auth(user_jwt("alice"))
        .header("x-forwarded-for", "198.51.100.3")
        .send()
        .await
        .unwrap();
    assert_eq!(valid.status(), StatusCode::OK);

    // Without trusted proxies, the header is the client's own claim: ignored.
    let direct = TestServer::with(mode, "rate_limit_auth_failures_per_minute = 2\n").await;
    for (n, expected) in [
        StatusCode::UNAUTHORIZED,
        StatusCode::UNAUTHORIZED,
        StatusCode::TOO_MANY_REQUESTS,
    ]
    .into_iter()
    .enumerate()
    {
        let ip = format!("203.0.113.{n}");
        assert_eq!(attempt(&direct, &ip).await.unwrap().status(), expected);
    }
}

crate::both_modes!(behind_a_trusted_proxy_the_forwarded_client_is_limited_and_spoofing_is_ignored);

// The flood runs once, in the production shape: the limiter in front of the lookups does not
// depend on the engine, and 100,000 requests take a while in a debug build.
mod flood {
    mod postgres {
        mod redis {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_flood_of_invented_api_keys_is_refused_without_database_work() {
                super::super::super::a_flood_of_invented_api_keys_is_refused_without_database_work(
                    crate::support::Mode::Production,
                )
                .await;
            }
        }
    }
}
