//! Who connected, and in which launch context. The subject is the account's `fhirUser` (or,
//! without one, its OIDC `sub`) qualified by the site's FHIR base, so one user id on two sites
//! never collides. Claims of the ID token count only once `tether_oidc` verified it (the
//! provider does that); the token answer's own `fhirUser` and the userinfo answer are taken
//! as they are. The launch context (`patient`, `encounter`, `fhirUser`) is health data: it
//! goes to the encrypted launch-context store only, never into metadata, labels or logs.

use serde_json::{Map, Value, json};
use tether_core::provider::{AccountIdentity, ProviderError, RawTokenResponse};
use tether_oidc::VerifiedClaims;

/// What the token answer (or the userinfo endpoint) says about the account.
#[derive(Debug, Default, Clone)]
pub(crate) struct Claims(Map<String, Value>);

impl Claims {
    fn text(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    pub fn from_json(value: Value) -> Self {
        match value {
            Value::Object(map) => Self(map),
            _ => Self::default(),
        }
    }

    /// Has a subject Tether can use.
    pub fn identifies(&self) -> bool {
        self.fhir_user().is_some() || self.text("sub").is_some()
    }

    fn fhir_user(&self) -> Option<(&str, &str)> {
        self.text("fhirUser").and_then(fhir_reference)
    }
}

/// The token answer's own `fhirUser` (SMART puts it there), if any.
fn answer_fhir_user(response: &RawTokenResponse) -> Option<&str> {
    response
        .extra
        .get("fhirUser")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

/// The claims of the verified ID token (none without one) plus the token answer's
/// `fhirUser`, which wins.
pub(crate) fn answer_claims(
    verified: Option<VerifiedClaims>,
    response: &RawTokenResponse,
) -> Claims {
    let mut claims = verified.unwrap_or_default();
    if let Some(fhir_user) = answer_fhir_user(response) {
        claims.insert("fhirUser".to_owned(), json!(fhir_user));
    }
    Claims(claims)
}

/// `(type, id)` of a `fhirUser` value, relative (`Practitioner/123`) or absolute.
fn fhir_reference(value: &str) -> Option<(&str, &str)> {
    let mut parts = value.trim_end_matches('/').rsplit('/');
    let id = parts.next()?;
    let kind = parts.next()?;
    let valid_kind = kind.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && kind.chars().all(|c| c.is_ascii_alphabetic());
    let valid_id = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
    (valid_kind && valid_id).then_some((kind, id))
}

/// The identity of the account on this site.
pub(crate) fn identity(
    claims: &Claims,
    fhir_base: &str,
    site_label: &str,
    metadata: Value,
) -> Result<AccountIdentity, ProviderError> {
    let (subject, is_patient) = match (claims.fhir_user(), claims.text("sub")) {
        (Some((kind, id)), _) => (format!("{fhir_base}/{kind}/{id}"), kind == "Patient"),
        (None, Some(sub)) => (format!("{fhir_base}#sub:{sub}"), false),
        (None, None) => {
            return Err(ProviderError::Upstream {
                status: None,
                retry_after: None,
                message: "OpenEMR named no account (no fhirUser or sub in the ID token, token answer or userinfo)"
                    .to_owned(),
            });
        }
    };
    // A patient's name is health data: a patient account is labelled by its site only.
    let who = if is_patient {
        Some("patient account")
    } else {
        claims
            .text("preferred_username")
            .or_else(|| claims.text("email"))
            .or_else(|| claims.text("name"))
    };
    let label = match who {
        Some(who) => format!("{who} at {site_label}"),
        None => site_label.to_owned(),
    };
    Ok(AccountIdentity {
        subject,
        label: Some(label),
        metadata,
    })
}

/// The SMART launch context of a token answer, for encrypted storage; `fhirUser` from the
/// answer, else from the verified ID token's claims.
pub(crate) fn launch_context(
    response: &RawTokenResponse,
    verified: Option<&VerifiedClaims>,
) -> Option<Value> {
    let mut context = Map::new();
    for key in ["patient", "encounter", "fhirUser"] {
        if let Some(value) = response
            .extra
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
        {
            context.insert(key.to_owned(), json!(value));
        }
    }
    if !context.contains_key("fhirUser")
        && let Some(fhir_user) = verified
            .and_then(|claims| claims.get("fhirUser"))
            .and_then(Value::as_str)
    {
        context.insert("fhirUser".to_owned(), json!(fhir_user));
    }
    (!context.is_empty()).then_some(Value::Object(context))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(extra: &Value) -> RawTokenResponse {
        let mut body = json!({"access_token": "at", "token_type": "Bearer"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        RawTokenResponse::parse(&serde_json::to_vec(&body).unwrap()).unwrap()
    }

    /// Claims as the verifier hands them over.
    fn verified(claims: &Value) -> VerifiedClaims {
        claims.as_object().unwrap().clone()
    }

    const BASE: &str = "https://emr.example/apis/default/fhir";

    #[test]
    fn the_subject_is_the_fhir_user_qualified_by_the_site() {
        let raw = response(
            &json!({"fhirUser": "https://emr.example/apis/default/fhir/Practitioner/9f1c-22"}),
        );
        let claims = answer_claims(
            Some(verified(
                &json!({"sub": "u-1", "preferred_username": "drsmith"}),
            )),
            &raw,
        );
        let id = identity(&claims, BASE, "clinic-a", json!({})).unwrap();
        assert_eq!(id.subject, format!("{BASE}/Practitioner/9f1c-22"));
        assert_eq!(id.label.as_deref(), Some("drsmith at clinic-a"));
        let other_site =
            identity(&claims, "https://emr.example/apis/b/fhir", "b", json!({})).unwrap();
        assert_ne!(other_site.subject, id.subject);
    }

    #[test]
    fn without_fhir_user_the_sub_is_used() {
        let claims = answer_claims(
            Some(verified(&json!({"sub": "u-1"}))),
            &response(&json!({})),
        );
        let id = identity(&claims, BASE, "clinic-a", json!({})).unwrap();
        assert_eq!(id.subject, format!("{BASE}#sub:u-1"));
        assert_eq!(id.label.as_deref(), Some("clinic-a"));
    }

    #[test]
    fn a_patient_account_is_never_labelled_with_personal_data() {
        let claims = answer_claims(
            Some(verified(
                &json!({"sub": "p-7", "name": "Jane Doe", "email": "jane@example.org"}),
            )),
            &response(&json!({"fhirUser": "Patient/p-7"})),
        );
        let id = identity(&claims, BASE, "clinic-a", json!({"site": "default"})).unwrap();
        let printed = format!("{id:?}");
        assert!(
            !printed.contains("Jane") && !printed.contains("jane@"),
            "{printed}"
        );
        assert_eq!(id.label.as_deref(), Some("patient account at clinic-a"));
    }

    #[test]
    fn without_an_id_token_only_the_answer_speaks() {
        let claims = answer_claims(None, &response(&json!({})));
        assert!(!claims.identifies());
        let claims = answer_claims(None, &response(&json!({"fhirUser": "Practitioner/9"})));
        assert!(claims.identifies());
    }

    #[test]
    fn odd_fhir_user_values_are_not_subjects() {
        assert_eq!(
            fhir_reference("Practitioner/abc"),
            Some(("Practitioner", "abc"))
        );
        assert_eq!(fhir_reference("practitioner/abc"), None);
        assert_eq!(fhir_reference("abc"), None);
        assert_eq!(fhir_reference("Patient/a b"), None);
    }

    #[test]
    fn the_launch_context_holds_patient_encounter_and_fhir_user() {
        let raw =
            response(&json!({"patient": "p-7", "encounter": "e-1", "fhirUser": "Practitioner/9"}));
        assert_eq!(
            launch_context(&raw, None),
            Some(json!({"patient": "p-7", "encounter": "e-1", "fhirUser": "Practitioner/9"}))
        );
        let from_id_token = verified(&json!({"aud": "client-1", "fhirUser": "Practitioner/9"}));
        assert_eq!(
            launch_context(&response(&json!({})), Some(&from_id_token)),
            Some(json!({"fhirUser": "Practitioner/9"}))
        );
        assert_eq!(launch_context(&response(&json!({})), None), None);
    }
}
