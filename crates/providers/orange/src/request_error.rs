//! The SMS service's `requestError` bodies: a `serviceException` or `policyException` with a
//! `messageId` (GSMA OneAPI ids: SVC0001, SVC0004, POL0001, …) and a `text` whose `%1…%n`
//! placeholders are filled from `variables`, turned into a message a person can act on.

use std::time::Duration;

use serde_json::Value;
use tether_core::provider::ProviderError;

use crate::errors::{clip, str_field};

/// `text` with `%1…%n` replaced by `variables` (highest index first, so `%10` is not read
/// as `%1` followed by `0`).
pub(crate) fn substitute(text: &str, variables: &[String]) -> String {
    let mut out = text.to_owned();
    for (i, value) in variables.iter().enumerate().rev() {
        out = out.replace(&format!("%{}", i + 1), value);
    }
    out
}

fn variables(exception: &Value) -> Vec<String> {
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match exception.get("variables") {
        Some(Value::Array(items)) => items.iter().map(as_text).collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(single) => vec![as_text(single)],
    }
}

/// What a service or policy exception is about, for a person.
fn describe_exception(message_id: &str, lower: &str) -> &'static str {
    if lower.contains("sendername") || lower.contains("sender name") {
        "sender name not approved"
    } else if [
        "balance",
        "insufficient",
        "not enough",
        "units",
        "bundle",
        "credit",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        "insufficient SMS balance"
    } else if lower.contains("contract") {
        "no valid SMS contract (none bought for this country, or it expired)"
    } else if lower.contains("sender") {
        "sender address not allowed for this application"
    } else {
        match message_id {
            "SVC0004" => "no valid recipient address",
            "SVC0002" => "invalid input value",
            "SVC0280" => "message too long",
            id if id.starts_with("POL") => "refused by Orange's SMS policy",
            _ => "Orange SMS service error",
        }
    }
}

pub(crate) fn request_error(
    status: u16,
    retry_after: Option<Duration>,
    value: &Value,
) -> Option<ProviderError> {
    let request_error = value.get("requestError")?;
    let exception = request_error
        .get("policyException")
        .or_else(|| request_error.get("serviceException"))?;
    let message_id = str_field(exception, "messageId").unwrap_or("unknown");
    let template = str_field(exception, "text").unwrap_or("");
    let variables = variables(exception);
    let text = substitute(template, &variables);
    // The variables carry the specifics; the GSMA templates are generic ("A policy error
    // occurred. For example, rate limit error, …") and would mislead a keyword match.
    let detail = if variables.is_empty() {
        template.to_lowercase()
    } else {
        variables.join(" ").to_lowercase()
    };
    let throttled = ["too many", "throttl"].iter().any(|w| detail.contains(w));
    let what = if throttled {
        "Orange is throttling SMS requests"
    } else {
        describe_exception(message_id, &detail)
    };
    let message = clip(&format!("{what} ({message_id}: {text})"));
    Some(if status == 429 || throttled {
        ProviderError::RateLimited {
            retry_after,
            message,
        }
    } else if status >= 500 {
        ProviderError::Upstream {
            status: Some(status),
            retry_after,
            message,
        }
    } else {
        ProviderError::Misconfigured { message }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::classify;

    #[test]
    fn placeholders_are_replaced_by_their_variables() {
        let vars = ["a".to_owned(), "b".to_owned()];
        assert_eq!(substitute("x %1 y %2 z", &vars), "x a y b z");
        let ten: Vec<String> = (1..=10).map(|i| format!("v{i}")).collect();
        assert_eq!(substitute("%10 %1", &ten), "v10 v1");
        assert_eq!(substitute("no vars %1", &[]), "no vars %1");
    }

    #[test]
    fn exceptions_become_clear_messages() {
        let e = |kind: &str, id: &str, text: &str, vars: &str| {
            classify(
                400,
                None,
                format!(
                    r#"{{"requestError":{{"{kind}":{{"messageId":"{id}","text":"{text}","variables":{vars}}}}}}}"#
                )
                .as_bytes(),
            )
        };
        let balance = e(
            "policyException",
            "POL0001",
            "A policy error occurred. %1",
            r#"["Not enough available units"]"#,
        );
        assert!(
            balance.to_string().contains("insufficient SMS balance"),
            "{balance}"
        );
        assert!(balance.to_string().contains("Not enough available units"));
        let sender = e(
            "serviceException",
            "SVC0001",
            "A service error occurred. Error code is %1",
            r#"["SenderName ACME is not allowed"]"#,
        );
        assert!(
            sender.to_string().contains("sender name not approved"),
            "{sender}"
        );
        let address = e(
            "serviceException",
            "SVC0004",
            "No valid addresses provided in message part %1",
            r#"["address"]"#,
        );
        assert!(
            address.to_string().contains("no valid recipient address"),
            "{address}"
        );
        assert!(address.to_string().contains("message part address"));
        let contract = e("policyException", "POL0001", "%1", r#""Expired contract""#);
        let generic = e(
            "policyException",
            "POL0001",
            "A policy error occurred. For example, rate limit error, authentication error. %1",
            r#"["Expired contract"]"#,
        );
        assert!(
            matches!(generic, ProviderError::Misconfigured { .. }),
            "{generic:?}"
        );
        assert!(
            generic.to_string().contains("no valid SMS contract"),
            "{generic}"
        );
        let throttled = e(
            "policyException",
            "POL3003",
            "%1",
            r#"["Too many requests"]"#,
        );
        assert!(
            matches!(throttled, ProviderError::RateLimited { .. }),
            "{throttled:?}"
        );
        assert!(
            contract.to_string().contains("no valid SMS contract"),
            "{contract}"
        );
        assert!(matches!(contract, ProviderError::Misconfigured { .. }));
    }
}
