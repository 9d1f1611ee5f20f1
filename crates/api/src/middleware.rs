//! Cross-cutting middleware: security headers on every response (errors included), request
//! metrics, and rate limits (per client IP on the OAuth browser endpoints, per caller on the
//! rest of the API), answering 429 with `Retry-After`.

use std::hash::Hasher;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;
use crate::metrics::RequestLabels;
use crate::state::ApiState;

/// The two rate-limit buckets.
pub struct Limiters {
    oauth: DefaultKeyedRateLimiter<u64>,
    api: DefaultKeyedRateLimiter<u64>,
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

impl Limiters {
    pub fn new(oauth_per_minute: u32, api_per_minute: u32) -> Arc<Self> {
        Arc::new(Self {
            oauth: RateLimiter::keyed(quota(oauth_per_minute)),
            api: RateLimiter::keyed(quota(api_per_minute)),
        })
    }
}

/// A hash of the bucket key (so neither keys nor tokens are held in the limiter).
fn key_hash(text: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(text.as_bytes());
    hasher.finish()
}

/// Rate limits by bucket.
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
    let (limiter, key) = if path.starts_with("/api/v1/oauth/") {
        let ip = req
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        (&limiters.oauth, key_hash(&ip))
    } else if path.starts_with("/api/v1/") {
        let key = match req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            Some(credential) => key_hash(credential),
            None => key_hash(
                &req.peer_addr()
                    .map(|a| a.ip().to_string())
                    .unwrap_or_default(),
            ),
        };
        (&limiters.api, key)
    } else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    if let Err(not_until) = limiter.check_key(&key) {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let error = ApiError::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests; slow down and retry after the time in Retry-After.",
        )
        .with_retry_after(Some(wait.max(Duration::from_secs(1))));
        let response = actix_web::ResponseError::error_response(&error);
        return Ok(req.into_response(response).map_into_boxed_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// Security headers on every response (handler and extractor errors already arrive here as
/// responses), and the request counter.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    // Never clone the request before routing: actix needs it unshared to fill path params.
    let state = req.app_data::<web::Data<ApiState>>().cloned();
    let method = req.method().to_string();
    let mut response = next.call(req).await?.map_into_boxed_body();
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
