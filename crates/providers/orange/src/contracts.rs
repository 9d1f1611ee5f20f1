//! SMS balance: `GET /sms/admin/v1/contracts`. Orange has answered in two shapes (by API
//! version): a JSON array of contracts, or `partnerContracts.contracts[].serviceContracts[]`.
//! Both become [`SmsContract`]s; unknown fields are ignored, missing ones are `None`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tether_core::provider::{AppTokenSource, ConnectionReport, ProviderError};
use tether_core::secret::AccessToken;

use crate::api::{self, Answer};
use crate::provider::OrangeProvider;
pub use tether_core::sms::SmsContract;

fn text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match v.get(*k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

fn units(v: &Value) -> Option<u64> {
    match v.get("availableUnits")? {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// One contract of an answer, from its JSON object (and its parent contract's).
fn contract_from(v: &Value, parent: Option<&Value>) -> Option<SmsContract> {
    v.as_object()?;
    let expires = text(v, &["expirationDate", "expires", "expiryDate"]);
    Some(SmsContract {
        contract_id: text(v, &["contractId", "id"]),
        country: text(v, &["country"]),
        service: text(v, &["service", "offerName"])
            .or_else(|| parent.and_then(|p| text(p, &["service", "offerName"]))),
        available_units: units(v),
        expires_at: expires
            .as_deref()
            .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
            .map(|at| at.with_timezone(&Utc)),
        expires,
        status: text(v, &["status"]),
        description: text(v, &["scDescription", "description", "contractDescription"])
            .or_else(|| parent.and_then(|p| text(p, &["contractDescription"]))),
    })
}
/// Both documented shapes (and a lone contract object); anything else is an upstream error.
pub(crate) fn parse_contracts(body: &Value) -> Result<Vec<SmsContract>, ProviderError> {
    if let Some(items) = body.as_array() {
        return Ok(items
            .iter()
            .filter_map(|c| contract_from(c, None))
            .collect());
    }
    if let Some(contracts) = body
        .pointer("/partnerContracts/contracts")
        .and_then(Value::as_array)
    {
        return Ok(contracts
            .iter()
            .flat_map(|contract| {
                contract
                    .get("serviceContracts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(move |sc| contract_from(sc, Some(contract)))
            })
            .collect());
    }
    if body.get("availableUnits").is_some() {
        return Ok(contract_from(body, None).into_iter().collect());
    }
    Err(ProviderError::Upstream {
        status: None,
        retry_after: None,
        message: "Orange's contracts answer has neither documented shape".to_owned(),
    })
}

fn read(answer: Answer) -> Result<Vec<SmsContract>, ProviderError> {
    if !answer.is_success() {
        return Err(api::into_error(answer));
    }
    let body: Value =
        serde_json::from_slice(&answer.body).map_err(|_| ProviderError::Upstream {
            status: Some(answer.status),
            retry_after: None,
            message: "Orange's contracts answer is not JSON".to_owned(),
        })?;
    parse_contracts(&body)
}

impl OrangeProvider {
    fn contracts_request(&self) -> reqwest::RequestBuilder {
        self.http()
            .get(format!("{}/sms/admin/v1/contracts", self.api_base()))
    }

    /// The SMS contracts of the app with their remaining units, renewing the app token once
    /// if Orange says it expired.
    pub async fn balance(
        &self,
        tokens: &dyn AppTokenSource,
    ) -> Result<Vec<SmsContract>, ProviderError> {
        read(api::with_app_token(tokens, || self.contracts_request()).await?)
    }

    /// The contracts call with exactly this token (the connection test).
    pub(crate) async fn test_with_balance(
        &self,
        token: &AccessToken,
    ) -> Result<ConnectionReport, ProviderError> {
        let contracts = read(api::execute(self.contracts_request(), token).await?)?;
        let total: u64 = contracts.iter().filter_map(|c| c.available_units).sum();
        let per_country: Vec<String> = contracts
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c.country.as_deref().unwrap_or("?"),
                    c.available_units
                        .map_or_else(|| "?".to_owned(), |u| u.to_string())
                )
            })
            .collect();
        Ok(ConnectionReport {
            detail: if contracts.is_empty() {
                "Orange accepted the token; the app has no SMS contract yet".to_owned()
            } else {
                format!(
                    "Orange accepted the token: {} contract(s), {total} SMS units available ({})",
                    contracts.len(),
                    per_country.join(", ")
                )
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_array_shape_parses() {
        let contracts = parse_contracts(&json!([
            {"id": "c1", "developerId": "d", "applicationId": "a", "country": "CIV", "offerName": "SMS_OCB",
             "availableUnits": 95, "status": "ACTIVE", "expirationDate": "2026-01-31T23:59:59.000Z"},
            {"id": "c2", "country": "SEN", "availableUnits": "12", "expirationDate": "soon"}
        ]))
        .unwrap();
        assert_eq!(contracts.len(), 2);
        assert_eq!(contracts[0].country.as_deref(), Some("CIV"));
        assert_eq!(contracts[0].service.as_deref(), Some("SMS_OCB"));
        assert_eq!(contracts[0].available_units, Some(95));
        assert!(contracts[0].expires_at.is_some());
        assert_eq!(contracts[1].available_units, Some(12));
        assert_eq!(contracts[1].expires.as_deref(), Some("soon"));
        assert!(contracts[1].expires_at.is_none());
    }

    #[test]
    fn the_partner_contracts_shape_parses() {
        let contracts = parse_contracts(&json!({"partnerContracts": {"partnerId": "p", "contracts": [
            {"service": "SMS_OCB", "contractDescription": "SMS bundle", "serviceContracts": [
                {"country": "CIV", "contractId": "sc1", "availableUnits": 100, "expires": "2026-02-01T00:00:00Z"},
                {"country": "CMR", "service": "SMS_OTHER", "availableUnits": 0}
            ]},
            {"service": "EMPTY"}
        ]}}))
        .unwrap();
        assert_eq!(contracts.len(), 2);
        assert_eq!(contracts[0].contract_id.as_deref(), Some("sc1"));
        assert_eq!(contracts[0].service.as_deref(), Some("SMS_OCB"));
        assert_eq!(contracts[0].description.as_deref(), Some("SMS bundle"));
        assert_eq!(contracts[1].service.as_deref(), Some("SMS_OTHER"));
        assert_eq!(contracts[1].available_units, Some(0));
    }

    #[test]
    fn unknown_shapes_are_upstream_errors() {
        assert!(parse_contracts(&json!({"something": "else"})).is_err());
        assert!(parse_contracts(&json!([])).unwrap().is_empty());
    }
}
