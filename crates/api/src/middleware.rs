//! Cross-cutting middleware: security headers on every response (errors included), request
//! metrics, errors of other layers in the one error shape (a refused CORS origin, headers too
//! large), and rate limits (per client address on the OAuth browser endpoints, per caller on
//! the rest of the API, and a per-address budget of failed authentications), answering 429
//! with `Retry-After`.

use std::collections::HashMap;
use std::hash::Hasher;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::metrics::{ErrorLabels, RequestLabels};
use crate::state::ApiState;

/// Most client addresses whose failed authentications are counted at once; beyond it the
/// ended windows are dropped, then the oldest.
const MAX_TRACKED_FAILURES: usize = 65_536;
/// The window failed authentications are counted in.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Limiter checks between two prunings of idle limiter state.
const PRUNE_EVERY: u64 = 4_096;
/// Most bytes of request headers (names and values) accepted; larger answers 431 in the
/// error shape. Below the HTTP layer's own limit (128 KiB for the whole request head), which
/// refuses with an empty 431 before any of this runs.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Failed authentications of one client address in the current window.
#[derive(Clone, Copy)]
struct FailureWindow {
    started: Instant,
    failures: u32,
}

/// The rate-limit buckets. The OAuth browser endpoints are limited per client address;
/// authenticated API callers per caller (user or API key), after authentication; and every
/// client address may fail authentication `auth_failures_per_minute` times a minute, after
/// which its API requests are refused before any credential is looked at (so made-up API
/// keys cost no database work) until the minute is over.
pub struct Limiters {
    oauth: DefaultKeyedRateLimiter<IpAddr>,
    callers: DefaultKeyedRateLimiter<u64>,
    failure_budget: u32,
    failures: Mutex<HashMap<IpAddr, FailureWindow>>,
    checks: AtomicU64,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters").finish_non_exhaustive()
    }
}

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n).allow_burst(n)
}

fn too_many(wait: Duration) -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many requests; slow down and retry after the time in Retry-After.",
    )
    .with_retry_after(Some(wait.max(Duration::from_secs(1))))
}

impl Limiters {
    pub fn new(
        oauth_per_minute: u32,
        api_per_minute: u32,
        auth_failures_per_minute: u32,
    ) -> Arc<Self> {
        Arc::new(Self {
            oauth: RateLimiter::keyed(quota(oauth_per_minute)),
            callers: RateLimiter::keyed(quota(api_per_minute)),
            failure_budget: auth_failures_per_minute.max(1),
            failures: Mutex::new(HashMap::new()),
            checks: AtomicU64::new(0),
        })
    }

    /// Keys held by the limiters (bounded: idle state is pruned).
    pub fn tracked_keys(&self) -> usize {
        self.oauth.len() + self.callers.len() + self.failures.lock().map_or(0, |f| f.len())
    }

    /// Every few thousand checks, forget limiter state that is back to "fresh" and failure
    /// windows that ended, so memory follows the active clients, not every client ever seen.
    fn maybe_prune(&self) {
        if !self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PRUNE_EVERY)
        {
            return;
        }
        self.oauth.retain_recent();
        self.oauth.shrink_to_fit();
        self.callers.retain_recent();
        self.callers.shrink_to_fit();
        if let Ok(mut failures) = self.failures.lock() {
            failures.retain(|_, w| w.started.elapsed() < FAILURE_WINDOW);
            failures.shrink_to_fit();
        }
    }

    fn check_oauth(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.maybe_prune();
        self.oauth
            .check_key(&ip)
            .map_err(|not_until| too_many(not_until.wait_time_from(DefaultClock::default().now())))
    }

    /// An authenticated caller's request (`identity` names the user or API key).
    pub(crate) fn check_caller(&self, identity: &str) -> Result<(), ApiError> {
        self.maybe_prune();
        self.callers
            .check_key(&key_hash(identity))
            .map_err(|not_until| too_many(not_until.wait_time_from(DefaultClock::default().now())))
    }

    /// Refused while the address has used up its failed authentications for the window.
    fn check_failures(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.maybe_prune();
        let window = self.failures.lock().ok().and_then(|f| f.get(&ip).copied());
        match window {
            Some(w) if w.failures >= self.failure_budget => {
                let left = FAILURE_WINDOW.saturating_sub(w.started.elapsed());
                if left.is_zero() {
                    Ok(())
                } else {
                    Err(too_many(left))
                }
            }
            _ => Ok(()),
        }
    }

    /// A request from `ip` failed authentication.
    fn auth_failed(&self, ip: IpAddr) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        let now = Instant::now();
        if failures.len() >= MAX_TRACKED_FAILURES && !failures.contains_key(&ip) {
            failures.retain(|_, w| now.duration_since(w.started) < FAILURE_WINDOW);
            if failures.len() >= MAX_TRACKED_FAILURES
                && let Some(oldest) = failures
                    .iter()
                    .min_by_key(|(_, w)| w.started)
                    .map(|(ip, _)| *ip)
            {
                failures.remove(&oldest);
            }
        }
        let window = failures.entry(ip).or_insert(FailureWindow {
            started: now,
            failures: 0,
        });
        if now.duration_since(window.started) >= FAILURE_WINDOW {
            *window = FailureWindow {
                started: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
    }
}

/// A hash of the bucket key (so neither keys nor tokens are held in the limiter).
fn key_hash(text: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(text.as_bytes());
    hasher.finish()
}

/// Rate limits: per client address on the OAuth endpoints; elsewhere under `/api/v1/`, an
/// address that failed authentication too often is refused before anything else runs, and
/// each 401 spends its budget. (Authenticated callers are limited by the `Caller` extractor.)
pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(limiters) = req.app_data::<web::Data<Arc<Limiters>>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let path = req.path();
    // The hosted connect page is a browser step of the connect flow: the OAuth per-IP limit.
    let connect_page = path == "/connect" || path.starts_with("/connect/");
    if !path.starts_with("/api/v1/") && !connect_page {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let ip = crate::routes::client_ip(req.request()).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let oauth = path.starts_with("/api/v1/oauth/") || connect_page;
    let refused = if oauth {
        limiters.check_oauth(ip)
    } else {
        limiters.check_failures(ip)
    };
    if let Err(error) = refused {
        let response = actix_web::ResponseError::error_response(&error);
        return Ok(req.into_response(response).map_into_boxed_body());
    }
    let response = next.call(req).await?;
    if !oauth && response.status() == actix_web::http::StatusCode::UNAUTHORIZED {
        limiters.auth_failed(ip);
    }
    Ok(response.map_into_boxed_body())
}

/// 431 when the request headers are larger than [`MAX_HEADER_BYTES`].
fn oversized_headers(req: &ServiceRequest) -> Option<ApiError> {
    let size: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    (size > MAX_HEADER_BYTES).then(|| {
        ApiError::new(
            actix_web::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("The request headers are larger than {MAX_HEADER_BYTES} bytes."),
        )
    })
}

/// The CORS middleware's refusal (plain text) as an error in the one shape.
fn cors_refusal(response: &ServiceResponse) -> Option<ApiError> {
    let refusal = response
        .response()
        .error()?
        .as_error::<actix_cors::CorsError>()?;
    Some(ApiError::bad_request(
        "cors_refused",
        format!("The CORS preflight was refused: {refusal} (allowed origins: cors_origins)."),
    ))
}

/// Security headers on every response (handler and extractor errors already arrive here as
/// responses), the error shape for answers of other layers, and the request counter.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    // Never clone the request before routing: actix needs it unshared to fill path params.
    let state = req.app_data::<web::Data<ApiState>>().cloned();
    let method = req.method().to_string();
    let mut response = match oversized_headers(&req) {
        Some(error) => req
            .into_response(actix_web::ResponseError::error_response(&error))
            .map_into_boxed_body(),
        None => next.call(req).await?.map_into_boxed_body(),
    };
    if let Some(error) = cors_refusal(&response) {
        let vary = response.headers().get(header::VARY).cloned();
        let mut shaped = actix_web::ResponseError::error_response(&error);
        if let Some(vary) = vary {
            shaped.headers_mut().insert(header::VARY, vary);
        }
        response = response.into_response(shaped).map_into_boxed_body();
    }
    let headers = response.headers_mut();
    let set = |headers: &mut header::HeaderMap, name: HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "frame-ancestors 'none'",
    );
    set(headers, header::REFERRER_POLICY, "no-referrer");
    if let Some(state) = &state {
        if state.config.hsts {
            set(
                headers,
                header::STRICT_TRANSPORT_SECURITY,
                "max-age=31536000; includeSubDomains",
            );
        }
        if let Some(code) = response.response().extensions().get::<ErrorCode>() {
            state
                .metrics
                .errors
                .get_or_create(&ErrorLabels {
                    code: code.0.to_owned(),
                })
                .inc();
        }
        let class = format!("{}xx", response.status().as_u16() / 100);
        state
            .metrics
            .requests
            .get_or_create(&RequestLabels {
                method,
                status: class,
            })
            .inc();
    }
    Ok(response)
}
