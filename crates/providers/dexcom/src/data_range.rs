//! `GET /v3/users/self/dataRange`: the cheapest authenticated call. It names the account
//! (`userId`, unique per Dexcom account per app — Dexcom has no userinfo endpoint) and says
//! whether any data exists, so it serves both identity and the connection test.

use serde_json::{Value, json};
use tether_core::provider::{AccountIdentity, ConnectionReport, ProviderError};
use tether_core::secret::AccessToken;

use crate::api;
use crate::provider::DexcomProvider;

/// What the data-range answer says, minus the health data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DataRange {
    pub user_id: String,
    pub record_version: Option<String>,
    /// Whether each data kind has any records.
    pub has_egvs: bool,
    pub has_events: bool,
    pub has_calibrations: bool,
}

impl DataRange {
    pub(crate) fn parse(body: &Value) -> Result<Self, ProviderError> {
        let user_id = body
            .get("userId")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ProviderError::Upstream {
                status: None,
                retry_after: None,
                message: "Dexcom's data range answer has no userId".to_owned(),
            })?;
        let has = |kind: &str| {
            body.get(kind)
                .and_then(|range| range.get("end").or_else(|| range.get("start")))
                .is_some_and(|end| !end.is_null())
        };
        Ok(Self {
            user_id: user_id.to_owned(),
            record_version: body
                .get("recordVersion")
                .and_then(Value::as_str)
                .map(str::to_owned),
            has_egvs: has("egvs"),
            has_events: has("events"),
            has_calibrations: has("calibrations"),
        })
    }
}

impl DexcomProvider {
    pub(crate) async fn data_range(&self, token: &AccessToken) -> Result<DataRange, ProviderError> {
        let url = self.api_url("/v3/users/self/dataRange")?;
        DataRange::parse(&api::get_json(&self.base.http, url, token).await?)
    }

    pub(crate) async fn identity_from_data_range(
        &self,
        token: &AccessToken,
    ) -> Result<AccountIdentity, ProviderError> {
        let range = self.data_range(token).await?;
        Ok(AccountIdentity {
            label: Some(format!("Dexcom account ({})", self.region)),
            metadata: json!({
                "region": self.region.as_str(),
                "record_version": range.record_version,
            }),
            subject: range.user_id,
        })
    }

    pub(crate) async fn test_with_data_range(
        &self,
        token: &AccessToken,
    ) -> Result<ConnectionReport, ProviderError> {
        let range = self.data_range(token).await?;
        let data = if range.has_egvs {
            "glucose readings are available"
        } else if range.has_events || range.has_calibrations {
            "no glucose readings yet, other records are available"
        } else {
            "no data uploaded yet"
        };
        Ok(ConnectionReport {
            detail: format!(
                "Dexcom ({}) answered the data range call: {data}",
                self.region
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_answer_names_the_account() {
        let range = DataRange::parse(&json!({
            "recordType": "dataRange", "recordVersion": "3.0", "userId": "u-123",
            "calibrations": {"start": null, "end": null},
            "egvs": {"start": {"systemTime": "2024-01-01T00:00:00", "displayTime": "2024-01-01T01:00:00"},
                     "end": {"systemTime": "2024-02-01T00:00:00", "displayTime": "2024-02-01T01:00:00"}},
            "events": null
        }))
        .unwrap();
        assert_eq!(range.user_id, "u-123");
        assert_eq!(range.record_version.as_deref(), Some("3.0"));
        assert!(range.has_egvs);
        assert!(!range.has_calibrations);
        assert!(!range.has_events);
    }

    #[test]
    fn an_answer_without_a_user_is_an_upstream_error() {
        for body in [json!({}), json!({"userId": ""}), json!({"userId": 5})] {
            assert!(matches!(
                DataRange::parse(&body),
                Err(ProviderError::Upstream { .. })
            ));
        }
    }
}
