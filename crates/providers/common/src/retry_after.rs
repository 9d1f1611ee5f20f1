//! The `Retry-After` header of a provider answer: delay-seconds or an HTTP date (RFC 9110
//! §10.2.3), capped so that a wrong header cannot park an integration for days.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The cap most providers use: an hour.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// `Retry-After` as seconds or an HTTP date, capped at [`MAX_RETRY_AFTER`]; `None` when
/// absent or unreadable. A date in the past is zero.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_capped(headers, MAX_RETRY_AFTER)
}

/// `Retry-After` as seconds or an HTTP date, capped at `cap`.
pub fn retry_after_capped(headers: &HeaderMap, cap: Duration) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let secs = match value.parse::<u64>() {
        Ok(secs) => secs,
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value).ok()?;
            u64::try_from((at.with_timezone(&Utc) - Utc::now()).num_seconds()).unwrap_or(0)
        }
    };
    Some(Duration::from_secs(secs).min(cap))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn wait(value: &str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        retry_after_capped(&headers, DAY)
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_caps_at_a_day() {
        assert_eq!(wait("120"), Some(Duration::from_secs(120)));
        assert_eq!(wait("999999"), Some(Duration::from_secs(86_400)));
        assert_eq!(wait("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let soon = (Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        let secs = wait(&soon).unwrap().as_secs();
        assert!((85..=90).contains(&secs), "{secs}");
        assert_eq!(wait("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn the_default_cap_is_an_hour() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7200"));
        assert_eq!(retry_after(&headers), Some(MAX_RETRY_AFTER));
    }
}
