//! Who a Microsoft account is: `oid` and `tid` from the ID token of the token answer (its
//! payload is read without checking the signature — it came straight from the token
//! endpoint over TLS, and it is used for nothing but naming the account), a label from
//! Graph `/me`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use tether_core::provider::{AccountIdentity, ProviderError};

/// The tenant of every personal Microsoft account.
const PERSONAL_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// The ID-token claims Tether reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct IdClaims {
    pub oid: Option<String>,
    pub tid: Option<String>,
    pub aud: Option<String>,
    pub preferred_username: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
}

fn upstream(message: impl Into<String>) -> ProviderError {
    ProviderError::Upstream {
        status: None,
        retry_after: None,
        message: message.into(),
    }
}

/// The claims of a compact JWT, from its payload segment.
pub(crate) fn id_claims(id_token: &str) -> Result<IdClaims, ProviderError> {
    let payload = id_token
        .split('.')
        .nth(1)
        .ok_or_else(|| upstream("the ID token is not a JWT"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| upstream("the ID token's payload is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| upstream("the ID token's payload is not JSON"))
}

/// The stable account key: object id and tenant id (`sub` differs per application).
pub(crate) fn subject(claims: &IdClaims, client_id: &str) -> Result<String, ProviderError> {
    if claims.aud.as_deref().is_some_and(|aud| aud != client_id) {
        return Err(upstream("the ID token was issued to another application"));
    }
    let present = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    match (present(&claims.oid), present(&claims.tid)) {
        (Some(oid), Some(tid)) => Ok(format!("{oid}:{tid}")),
        _ => Err(upstream(
            "the ID token has no oid/tid claims; the account cannot be identified",
        )),
    }
}

/// The identity from the ID token claims and the `/me` answer.
pub(crate) fn account(
    claims: &IdClaims,
    client_id: &str,
    me: &Value,
    configured_tenant: &str,
) -> Result<AccountIdentity, ProviderError> {
    let subject = subject(claims, client_id)?;
    let me_str = |key: &str| {
        me.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let label = me_str("mail")
        .or_else(|| me_str("userPrincipalName"))
        .or_else(|| claims.email.clone())
        .or_else(|| claims.preferred_username.clone());
    let tid = claims.tid.clone().unwrap_or_default();
    let account_type = if tid == PERSONAL_TENANT {
        "personal"
    } else {
        "work_or_school"
    };
    Ok(AccountIdentity {
        subject,
        label,
        metadata: json!({
            "object_id": claims.oid,
            "tenant_id": tid,
            "account_type": account_type,
            "display_name": me_str("displayName").or_else(|| claims.name.clone()),
            "user_principal_name": me_str("userPrincipalName"),
            "graph_user_id": me_str("id"),
            "configured_tenant": configured_tenant,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &Value) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2lnbmF0dXJl",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn oid_and_tid_make_the_subject() {
        let token = jwt(&json!({
            "aud": "app-id", "oid": "00000000-0000-0000-66f3-3332eca7ea81",
            "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "sub": "per-app-subject",
            "preferred_username": "ada@contoso.com", "name": "Ada"
        }));
        let claims = id_claims(&token).unwrap();
        assert_eq!(
            subject(&claims, "app-id").unwrap(),
            "00000000-0000-0000-66f3-3332eca7ea81:72f988bf-86f1-41af-91ab-2d7cd011db47"
        );
        let identity = account(&claims, "app-id", &json!({}), "common").unwrap();
        assert_eq!(identity.label.as_deref(), Some("ada@contoso.com"));
        assert_eq!(identity.metadata["account_type"], "work_or_school");
        assert_eq!(identity.metadata["display_name"], "Ada");
    }

    #[test]
    fn me_gives_the_label_and_personal_accounts_are_recognised() {
        let claims = IdClaims {
            oid: Some("o".into()),
            tid: Some(PERSONAL_TENANT.into()),
            ..IdClaims::default()
        };
        let me = json!({"id": "48d31887", "displayName": "Ada", "mail": null, "userPrincipalName": "ada@outlook.com"});
        let identity = account(&claims, "app-id", &me, "consumers").unwrap();
        assert_eq!(identity.subject, format!("o:{PERSONAL_TENANT}"));
        assert_eq!(identity.label.as_deref(), Some("ada@outlook.com"));
        assert_eq!(identity.metadata["account_type"], "personal");
        assert_eq!(identity.metadata["graph_user_id"], "48d31887");
    }

    #[test]
    fn tokens_without_oid_tid_or_for_another_app_are_refused() {
        let missing = IdClaims {
            oid: Some("o".into()),
            ..IdClaims::default()
        };
        assert!(subject(&missing, "app-id").is_err());
        let foreign = IdClaims {
            oid: Some("o".into()),
            tid: Some("t".into()),
            aud: Some("other-app".into()),
            ..IdClaims::default()
        };
        assert!(
            subject(&foreign, "app-id")
                .unwrap_err()
                .to_string()
                .contains("another application")
        );
        for bad in ["not-a-jwt", "a.!!!.c", "a.bm90IGpzb24.c"] {
            assert!(id_claims(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn padded_payloads_are_accepted() {
        let payload = base64::engine::general_purpose::URL_SAFE.encode(r#"{"oid":"o","tid":"t"}"#);
        let claims = id_claims(&format!("h.{payload}.s")).unwrap();
        assert_eq!(claims.oid.as_deref(), Some("o"));
    }
}
