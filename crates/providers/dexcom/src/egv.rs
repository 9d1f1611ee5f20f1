//! Estimated glucose values (EGVs) as typed values, parsed leniently from Dexcom's v3
//! `records[]`: a null or missing field becomes `None` (Dexcom sends `value: null` for
//! readings it could not compute), an unrecognised enum string is kept as `Other`.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

/// One estimated glucose value.
#[derive(Debug, Clone, PartialEq)]
pub struct Egv {
    /// Dexcom's id of the record.
    pub record_id: Option<String>,
    /// The receiver's or app's clock, which Dexcom keeps in UTC (it drifts; it is not a true
    /// UTC time).
    pub system_time: Option<DateTime<Utc>>,
    /// What the device showed the user.
    pub display_time: Option<DisplayTime>,
    /// The reading; `None` when Dexcom could not compute one.
    pub value: Option<f64>,
    pub unit: GlucoseUnit,
    pub status: EgvStatus,
    pub trend: Trend,
    /// How fast the value changes, in `rate_unit`.
    pub trend_rate: Option<f64>,
    pub rate_unit: Option<String>,
    pub transmitter_id: Option<String>,
    pub transmitter_generation: Option<String>,
    pub transmitter_ticks: Option<i64>,
    pub display_device: Option<String>,
}

/// The device's local time; records from the mobile apps carry a UTC offset, records from
/// receivers do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplayTime {
    pub local: NaiveDateTime,
    pub utc_offset: Option<FixedOffset>,
}

/// The unit of `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlucoseUnit {
    MgPerDl,
    MmolPerL,
    /// `unknown`, null or missing.
    Unknown,
    Other(String),
}

/// Whether the reading is inside the sensor's range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EgvStatus {
    Ok,
    High,
    Low,
    /// `unknown`, null or missing.
    Unknown,
    Other(String),
}

/// The trend arrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trend {
    None,
    DoubleUp,
    SingleUp,
    FortyFiveUp,
    Flat,
    FortyFiveDown,
    SingleDown,
    DoubleDown,
    NotComputable,
    RateOutOfRange,
    /// `unknown`, null or missing.
    Unknown,
    Other(String),
}

fn text(record: &Value, key: &str) -> Option<String> {
    match record.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn number(record: &Value, key: &str) -> Option<f64> {
    match record.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Dexcom writes `2022-02-06T09:12:35`, sometimes with fractions, a `Z` or an offset.
fn timestamp(text: &str) -> Option<DisplayTime> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(DisplayTime {
            local: at.naive_local(),
            utc_offset: Some(*at.offset()),
        });
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|local| DisplayTime {
            local,
            utc_offset: None,
        })
}

fn system_time(record: &Value) -> Option<DateTime<Utc>> {
    let t = timestamp(&text(record, "systemTime")?)?;
    match t.utc_offset {
        Some(offset) => offset
            .from_local_datetime(&t.local)
            .single()
            .map(|at| at.with_timezone(&Utc)),
        None => Some(Utc.from_utc_datetime(&t.local)),
    }
}

fn unit(raw: Option<String>) -> GlucoseUnit {
    match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("mg/dl") => GlucoseUnit::MgPerDl,
        Some("mmol/l") => GlucoseUnit::MmolPerL,
        None | Some("unknown") => GlucoseUnit::Unknown,
        Some(_) => GlucoseUnit::Other(raw.unwrap_or_default()),
    }
}

fn status(raw: Option<String>) -> EgvStatus {
    match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("ok") => EgvStatus::Ok,
        Some("high") => EgvStatus::High,
        Some("low") => EgvStatus::Low,
        None | Some("unknown") => EgvStatus::Unknown,
        Some(_) => EgvStatus::Other(raw.unwrap_or_default()),
    }
}

fn trend(raw: Option<String>) -> Trend {
    match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("none") => Trend::None,
        Some("doubleup") => Trend::DoubleUp,
        Some("singleup") => Trend::SingleUp,
        Some("fortyfiveup") => Trend::FortyFiveUp,
        Some("flat") => Trend::Flat,
        Some("fortyfivedown") => Trend::FortyFiveDown,
        Some("singledown") => Trend::SingleDown,
        Some("doubledown") => Trend::DoubleDown,
        Some("notcomputable") => Trend::NotComputable,
        Some("rateoutofrange") => Trend::RateOutOfRange,
        None | Some("unknown") => Trend::Unknown,
        Some(_) => Trend::Other(raw.unwrap_or_default()),
    }
}

impl Egv {
    /// One record; `None` only when it is not a JSON object.
    pub(crate) fn from_record(record: &Value) -> Option<Self> {
        record.as_object()?;
        Some(Self {
            record_id: text(record, "recordId"),
            system_time: system_time(record),
            display_time: text(record, "displayTime").and_then(|t| timestamp(&t)),
            value: number(record, "value"),
            unit: unit(text(record, "unit")),
            status: status(text(record, "status")),
            trend: trend(text(record, "trend")),
            trend_rate: number(record, "trendRate"),
            rate_unit: text(record, "rateUnit"),
            transmitter_id: text(record, "transmitterId"),
            transmitter_generation: text(record, "transmitterGeneration"),
            transmitter_ticks: number(record, "transmitterTicks").map(|t| t as i64),
            display_device: text(record, "displayDevice"),
        })
    }
}

/// The records of one v3 EGV answer; `records: null` or a missing array means none.
pub(crate) fn parse_records(
    body: &Value,
) -> Result<Vec<Egv>, tether_core::provider::ProviderError> {
    if !body.is_object() {
        return Err(tether_core::provider::ProviderError::Upstream {
            status: None,
            retry_after: None,
            message: "Dexcom's EGV answer is not a JSON object".to_owned(),
        });
    }
    Ok(body
        .get("records")
        .and_then(Value::as_array)
        .map(|records| records.iter().filter_map(Egv::from_record).collect())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_documented_record_parses_into_typed_values() {
        let egv = Egv::from_record(&json!({
            "recordId": "r1", "systemTime": "2024-03-01T10:00:00", "displayTime": "2024-03-01T11:00:00+01:00",
            "transmitterId": "tx", "transmitterTicks": 12345, "value": 104, "status": "ok",
            "trend": "fortyFiveDown", "trendRate": -1.2, "unit": "mg/dL", "rateUnit": "mg/dL/min",
            "displayDevice": "iOS", "transmitterGeneration": "g7"
        }))
        .unwrap();
        let day = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        assert_eq!(egv.value, Some(104.0));
        assert_eq!(egv.unit, GlucoseUnit::MgPerDl);
        assert_eq!(egv.trend, Trend::FortyFiveDown);
        assert_eq!(egv.status, EgvStatus::Ok);
        assert_eq!(
            egv.system_time,
            Some(Utc.from_utc_datetime(&day.and_hms_opt(10, 0, 0).unwrap()))
        );
        let shown = egv.display_time.unwrap();
        assert_eq!(shown.local, day.and_hms_opt(11, 0, 0).unwrap());
        assert_eq!(shown.utc_offset, FixedOffset::east_opt(3600));
        assert_eq!(egv.transmitter_ticks, Some(12345));
    }

    #[test]
    fn nulls_and_unknown_values_are_tolerated() {
        let egv = Egv::from_record(&json!({
            "recordId": null, "systemTime": null, "displayTime": "2024-03-01T11:00:00",
            "value": null, "status": null, "trend": "sideways", "unit": "unknown", "trendRate": null
        }))
        .unwrap();
        assert_eq!(egv.value, None);
        assert_eq!(egv.system_time, None);
        assert_eq!(egv.display_time.unwrap().utc_offset, None);
        assert_eq!(egv.trend, Trend::Other("sideways".to_owned()));
        assert_eq!(egv.unit, GlucoseUnit::Unknown);
        assert_eq!(egv.status, EgvStatus::Unknown);
        assert!(Egv::from_record(&json!("not a record")).is_none());
    }

    #[test]
    fn a_missing_or_null_records_array_means_no_readings() {
        assert!(parse_records(&json!({"records": null})).unwrap().is_empty());
        assert!(
            parse_records(&json!({"recordType": "egv"}))
                .unwrap()
                .is_empty()
        );
        assert!(parse_records(&json!([1, 2])).is_err());
    }
}
