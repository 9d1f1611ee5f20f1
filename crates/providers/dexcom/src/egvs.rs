//! The typed EGV call: `GET /v3/users/self/egvs?startDate=…&endDate=…`, split into
//! consecutive windows of at most 30 days (the v3 limit a third-party OpenAPI states; older
//! reports say 90 — the smaller one is the safe reading), results concatenated in order.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDateTime, SubsecRound, Utc};
use tether_core::provider::ProviderError;
use tether_core::secret::AccessToken;

use crate::api;
use crate::egv::{Egv, parse_records};
use crate::provider::DexcomProvider;

/// The longest window one request asks for.
pub const MAX_WINDOW_DAYS: i64 = 30;

/// Dexcom's date format: ISO 8601 without an offset, read against `systemTime` (UTC).
pub(crate) const DATE_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// `[start, end]` cut into consecutive windows of at most [`MAX_WINDOW_DAYS`], each starting
/// where the previous one ended. Times are truncated to whole seconds (Dexcom's precision).
pub(crate) fn windows(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let start = start.trunc_subsecs(0).naive_utc();
    let end = end.trunc_subsecs(0).naive_utc();
    let step = Duration::days(MAX_WINDOW_DAYS);
    let mut out = Vec::new();
    let mut from = start;
    while from < end {
        let to = (from + step).min(end);
        out.push((from, to));
        from = to;
    }
    out
}

impl DexcomProvider {
    /// The user's estimated glucose values between `start` and `end` (UTC, whole seconds),
    /// oldest window first. Windows longer than 30 days become several requests; a record
    /// Dexcom returns at a shared window boundary (same `recordId`) is kept once. An empty
    /// window returns no values without calling Dexcom; an `end` before `start` is refused.
    pub async fn egvs(
        &self,
        access_token: &AccessToken,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Egv>, ProviderError> {
        if end < start {
            return Err(ProviderError::InvalidRequest {
                message: "the requested EGV window ends before it starts".to_owned(),
            });
        }
        let mut seen = HashSet::new();
        let mut all = Vec::new();
        for (from, to) in windows(start, end) {
            let mut url = self.api_url("/v3/users/self/egvs")?;
            url.query_pairs_mut()
                .append_pair("startDate", &from.format(DATE_FORMAT).to_string())
                .append_pair("endDate", &to.format(DATE_FORMAT).to_string());
            let body = api::get_json(&self.base.http, url, access_token).await?;
            let records = parse_records(&body)?;
            all.extend(records.into_iter().filter(|r| match &r.record_id {
                Some(id) => seen.insert(id.clone()),
                None => true,
            }));
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, day, hour, 0, 0).unwrap()
    }

    #[test]
    fn short_windows_are_one_request() {
        let w = windows(at(1, 0), at(2, 12));
        assert_eq!(w, vec![(at(1, 0).naive_utc(), at(2, 12).naive_utc())]);
    }

    #[test]
    fn exactly_thirty_days_is_one_request_and_a_second_more_is_two() {
        let start = at(1, 0);
        assert_eq!(windows(start, start + Duration::days(30)).len(), 1);
        let w = windows(start, start + Duration::days(30) + Duration::seconds(1));
        assert_eq!(w.len(), 2);
        assert_eq!(w[1].0, w[0].1);
        assert_eq!(w[1].1 - w[1].0, Duration::seconds(1));
    }

    #[test]
    fn empty_windows_need_no_request() {
        assert!(windows(at(1, 0), at(1, 0)).is_empty());
    }

    #[test]
    fn subseconds_are_dropped_from_the_dates_sent() {
        let start = at(1, 0) + Duration::milliseconds(1500);
        let (from, _) = windows(start, at(2, 0))[0];
        assert_eq!(from.format(DATE_FORMAT).to_string(), "2024-01-01T00:00:01");
    }
}
