//! Errors of Google APIs (userinfo, Calendar, Drive, Gmail, Tasks, YouTube): Google's `{"error":{"code","message","status","errors":[{"reason"}],"details"}}`
//! shape and the OAuth `{"error","error_description"}` shape, classified into the core
//! error classes. Quota answers become `RateLimited`; daily quotas wait until Google resets
//! them (midnight Pacific time).

use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use serde_json::Value;
use tether_core::provider::ProviderError;

/// Reasons meaning "slow down" (per-minute or per-user limits; Retry-After when given).
const RATE_REASONS: [&str; 6] = [
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "quotaExceeded",
    "concurrentLimitExceeded",
    "RATE_LIMIT_EXCEEDED",
    "RESOURCE_EXHAUSTED",
];
/// Reasons meaning the token lacks the scope the call needs.
const SCOPE_REASONS: [&str; 2] = ["insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"];
/// Reasons meaning the API is not enabled in the operator's Google Cloud project.
const DISABLED_API_REASONS: [&str; 2] = ["accessNotConfigured", "SERVICE_DISABLED"];
/// Daily quotas reset at midnight Pacific time: 08:00 UTC is that midnight in winter and an
/// hour after it in summer, so waiting until then is never too early.
const DAILY_RESET_SECONDS_UTC: u32 = 8 * 3600;
const MESSAGE_LIMIT: usize = 300;

/// Which quota reasons an API resets only daily (YouTube's `quotaExceeded` is the daily
/// project quota; elsewhere it can be a per-minute limit).
#[derive(Debug, Clone, Copy)]
pub struct QuotaPolicy {
    pub daily_reasons: &'static [&'static str],
}

impl QuotaPolicy {
    /// Calendar, Drive, Gmail, Tasks, userinfo.
    pub const GOOGLE: QuotaPolicy = QuotaPolicy {
        daily_reasons: &["dailyLimitExceeded", "dailyLimitExceededUnreg"],
    };
}

/// A failed API answer, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// `errors[].reason`, `details[].reason`, `status` (or the OAuth `error` code).
    pub reasons: Vec<String>,
    /// Google's own message, truncated.
    pub message: String,
}

fn truncated(text: &str) -> String {
    text.chars().take(MESSAGE_LIMIT).collect()
}

impl ApiFailure {
    pub fn parse(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Self {
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let mut reasons = Vec::new();
        let mut message = None;
        match json.get("error") {
            Some(Value::Object(error)) => {
                for list in ["errors", "details"] {
                    let items = error.get(list).and_then(Value::as_array);
                    for item in items.into_iter().flatten() {
                        if let Some(reason) = item.get("reason").and_then(Value::as_str) {
                            reasons.push(reason.to_owned());
                        }
                    }
                }
                if let Some(s) = error.get("status").and_then(Value::as_str) {
                    reasons.push(s.to_owned());
                }
                message = error.get("message").and_then(Value::as_str);
            }
            Some(Value::String(code)) => {
                reasons.push(code.clone());
                message = json.get("error_description").and_then(Value::as_str);
            }
            _ => {}
        }
        let message = match (reasons.first(), message) {
            (Some(reason), Some(m)) => format!("{reason}: {m}"),
            (None, Some(m)) => m.to_owned(),
            (Some(reason), None) => reason.clone(),
            (None, None) => format!("HTTP {status}"),
        };
        Self {
            status,
            retry_after,
            reasons,
            message: truncated(&message),
        }
    }

    pub fn has_reason(&self, reason: &str) -> bool {
        self.reasons.iter().any(|r| r == reason)
    }

    fn has_any(&self, reasons: &[&str]) -> bool {
        reasons.iter().any(|r| self.has_reason(r))
    }

    pub fn classify(&self, quota: &QuotaPolicy) -> ProviderError {
        self.classify_at(quota, Utc::now())
    }

    /// The core class of this failure, `now` deciding how long a daily quota waits.
    pub fn classify_at(&self, quota: &QuotaPolicy, now: DateTime<Utc>) -> ProviderError {
        let message = self.message.clone();
        if self.has_any(quota.daily_reasons) {
            return ProviderError::RateLimited {
                retry_after: self.retry_after.or(Some(until_daily_reset(now))),
                message,
            };
        }
        if self.status == 429 || self.has_any(&RATE_REASONS) {
            return ProviderError::RateLimited {
                retry_after: self.retry_after,
                message,
            };
        }
        if self.status >= 500 {
            return ProviderError::Upstream {
                status: Some(self.status),
                retry_after: self.retry_after,
                message,
            };
        }
        if self.has_any(&SCOPE_REASONS) {
            return ProviderError::Misconfigured {
                message: format!("the token lacks a scope this call needs ({message})"),
            };
        }
        if self.has_any(&DISABLED_API_REASONS) {
            return ProviderError::Misconfigured {
                message: format!("enable this API in the Google Cloud project ({message})"),
            };
        }
        match self.status {
            401 => ProviderError::Revoked {
                message: format!("Google rejected the access token ({message})"),
            },
            403 => ProviderError::Misconfigured { message },
            status => ProviderError::Upstream {
                status: Some(status),
                retry_after: self.retry_after,
                message,
            },
        }
    }
}

/// The wait until the next 08:00 UTC.
fn until_daily_reset(now: DateTime<Utc>) -> Duration {
    let now = now.num_seconds_from_midnight();
    let wait = if now < DAILY_RESET_SECONDS_UTC {
        DAILY_RESET_SECONDS_UTC - now
    } else {
        86_400 - now + DAILY_RESET_SECONDS_UTC
    };
    Duration::from_secs(u64::from(wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, body: &str) -> ProviderError {
        ApiFailure::parse(status, None, body.as_bytes()).classify(&QuotaPolicy::GOOGLE)
    }

    #[test]
    fn google_error_bodies_name_their_reasons_and_message() {
        let failure = ApiFailure::parse(
            403,
            None,
            br#"{"error":{"code":403,"message":"Request had insufficient authentication scopes.","errors":[{"message":"Insufficient Permission","domain":"global","reason":"insufficientPermissions"}],"status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT","domain":"googleapis.com"}]}}"#,
        );
        assert_eq!(
            failure.reasons,
            [
                "insufficientPermissions",
                "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                "PERMISSION_DENIED"
            ]
        );
        assert_eq!(
            failure.message,
            "insufficientPermissions: Request had insufficient authentication scopes."
        );
        assert!(matches!(
            failure.classify(&QuotaPolicy::GOOGLE),
            ProviderError::Misconfigured { message } if message.contains("lacks a scope")
        ));
    }

    #[test]
    fn quota_and_rate_answers_are_rate_limits() {
        let rate = r#"{"error":{"code":403,"message":"Rate Limit Exceeded","errors":[{"domain":"usageLimits","reason":"userRateLimitExceeded"}]}}"#;
        assert!(matches!(
            classify(403, rate),
            ProviderError::RateLimited {
                retry_after: None,
                ..
            }
        ));
        let busy = r#"{"error":{"code":429,"message":"Too many concurrent requests for user","status":"RESOURCE_EXHAUSTED"}}"#;
        assert!(classify(429, busy).is_transient());
        let with_header = ApiFailure::parse(429, Some(Duration::from_secs(7)), b"");
        assert_eq!(
            with_header.classify(&QuotaPolicy::GOOGLE).retry_after(),
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn daily_quotas_wait_until_midnight_pacific_at_the_latest() {
        let daily = ApiFailure::parse(
            403,
            None,
            br#"{"error":{"code":403,"message":"Daily Limit Exceeded","errors":[{"reason":"dailyLimitExceeded"}]}}"#,
        );
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let wait = |now| daily.classify_at(&QuotaPolicy::GOOGLE, now).retry_after();
        assert_eq!(
            wait(at("2025-01-10T07:00:00Z")),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            wait(at("2025-07-10T20:00:00Z")),
            Some(Duration::from_secs(12 * 3600))
        );
    }

    #[test]
    fn other_failures_fall_into_their_classes() {
        let expired = r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#;
        assert!(classify(401, expired).needs_reauth());
        let oauth_shape = r#"{"error":"invalid_token","error_description":"Invalid Credentials"}"#;
        let err = classify(401, oauth_shape);
        assert!(err.needs_reauth());
        assert!(
            err.to_string()
                .contains("invalid_token: Invalid Credentials")
        );
        let disabled = r#"{"error":{"code":403,"message":"Gmail API has not been used in project 1 before or it is disabled.","status":"PERMISSION_DENIED","details":[{"reason":"SERVICE_DISABLED"}]}}"#;
        assert!(
            matches!(classify(403, disabled), ProviderError::Misconfigured { message } if message.contains("enable this API"))
        );
        assert!(matches!(
            classify(503, "<html>backend</html>"),
            ProviderError::Upstream {
                status: Some(503),
                ..
            }
        ));
        assert!(matches!(
            classify(404, r#"{"error":{"code":404,"message":"Not Found"}}"#),
            ProviderError::Upstream {
                status: Some(404),
                ..
            }
        ));
    }

    #[test]
    fn long_messages_are_truncated() {
        let body = format!(
            r#"{{"error":{{"code":500,"message":"{}"}}}}"#,
            "x".repeat(2000)
        );
        let failure = ApiFailure::parse(500, None, body.as_bytes());
        assert_eq!(failure.message.chars().count(), MESSAGE_LIMIT);
    }
}
