//! The test connection: the site's FHIR `metadata` (which server software and version answers)
//! and an authenticated Patient search that asks for a count only. Only counts and version
//! strings are reported — never a record.

use serde_json::Value;
use tether_core::provider::{ConnectionReport, ProviderError};
use tether_core::secret::AccessToken;

use crate::api;

/// The server software a CapabilityStatement names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSoftware {
    pub name: String,
    pub version: Option<String>,
    pub fhir_version: Option<String>,
}

/// `GET {fhir_base}/metadata` (no token needed).
pub(crate) async fn metadata(
    http: &reqwest::Client,
    fhir_base: &str,
) -> Result<ServerSoftware, ProviderError> {
    let answer = api::get(http, &format!("{fhir_base}/metadata"), None).await?;
    if !(200..300).contains(&answer.status) {
        return Err(api::classify_api_error(
            answer.status,
            answer.retry_after,
            &answer.body,
        ));
    }
    let value: Value = serde_json::from_slice(&answer.body).map_err(|_| not_fhir())?;
    if value.get("resourceType").and_then(Value::as_str) != Some("CapabilityStatement") {
        return Err(not_fhir());
    }
    let text = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(|s| {
                s.chars()
                    .filter(|c| !c.is_control())
                    .take(80)
                    .collect::<String>()
            })
            .filter(|s| !s.is_empty())
    };
    Ok(ServerSoftware {
        name: text("/software/name").unwrap_or_else(|| "an unnamed FHIR server".to_owned()),
        version: text("/software/version"),
        fhir_version: text("/fhirVersion"),
    })
}

fn not_fhir() -> ProviderError {
    ProviderError::Misconfigured {
        message: "OpenEMR: the site's FHIR metadata is not a CapabilityStatement; check the site address and that the FHIR API is enabled".to_owned(),
    }
}

/// `GET {fhir_base}/Patient?_summary=count&_count=1`: a count where the site supports
/// `_summary=count`, one entry at most where it only pages.
pub(crate) async fn patient_count(
    http: &reqwest::Client,
    fhir_base: &str,
    token: &AccessToken,
) -> Result<String, ProviderError> {
    let url = format!("{fhir_base}/Patient?_summary=count&_count=1");
    let answer = api::get(http, &url, Some(token)).await?;
    if !(200..300).contains(&answer.status) {
        return Err(api::classify_api_error(
            answer.status,
            answer.retry_after,
            &answer.body,
        ));
    }
    let bundle: Value =
        serde_json::from_slice(&answer.body).map_err(|_| ProviderError::Upstream {
            status: Some(answer.status),
            retry_after: None,
            message: "OpenEMR answered the Patient search with something that is not JSON"
                .to_owned(),
        })?;
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(ProviderError::Upstream {
            status: Some(answer.status),
            retry_after: None,
            message: "OpenEMR answered the Patient search without a Bundle".to_owned(),
        });
    }
    Ok(match bundle.get("total").and_then(Value::as_u64) {
        Some(1) => "1 patient visible to this account".to_owned(),
        Some(n) => format!("{n} patients visible to this account"),
        None => "Patient search allowed".to_owned(),
    })
}

/// Both calls, as one report.
pub(crate) async fn test(
    http: &reqwest::Client,
    fhir_base: &str,
    site_label: &str,
    token: &AccessToken,
) -> Result<ConnectionReport, ProviderError> {
    let software = metadata(http, fhir_base).await?;
    let patients = patient_count(http, fhir_base, token).await?;
    let version = software
        .version
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    let fhir = software
        .fhir_version
        .map(|v| format!(", FHIR {v}"))
        .unwrap_or_default();
    Ok(ConnectionReport {
        detail: format!(
            "{}{version}{fhir} at {site_label}; {patients}",
            software.name
        ),
    })
}
