//! Who a Microsoft account is: `oid` and `tid` from the ID token of the token answer — read
//! only once `tether_oidc` verified it (signature against Microsoft's keys, issuer
//! `https://login.microsoftonline.com/{tid}/v2.0`, audience, expiry, nonce) — with the token's
//! tenant checked against the configured one, and a label from Graph `/me`.

use serde::Deserialize;
use serde_json::{Value, json};
use tether_core::provider::{AccountIdentity, ProviderError};
use tether_oidc::VerifiedClaims;

use crate::config::is_guid;

/// The tenant of every personal Microsoft account.
const PERSONAL_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// The ID-token claims Tether reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct IdClaims {
    pub oid: Option<String>,
    pub tid: Option<String>,
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

impl IdClaims {
    /// The claims Tether reads, from a verified token.
    pub(crate) fn from_verified(claims: VerifiedClaims) -> Result<Self, ProviderError> {
        serde_json::from_value(Value::Object(claims))
            .map_err(|_| upstream("the ID token's oid, tid or name claims are not strings"))
    }
}

/// The account's tenant must be one the configuration admits: that tenant for a tenant id,
/// personal accounts for `consumers`, work or school accounts for `organizations`. (A tenant
/// configured by domain name is not compared: its id is not known without a lookup.)
pub(crate) fn check_tenant(claims: &IdClaims, configured: &str) -> Result<(), ProviderError> {
    let tid = claims.tid.as_deref().unwrap_or_default();
    let admitted = match configured {
        "common" => true,
        "consumers" => tid == PERSONAL_TENANT,
        "organizations" => tid != PERSONAL_TENANT,
        guid if is_guid(guid) => tid.eq_ignore_ascii_case(guid),
        _domain => true,
    };
    if admitted {
        Ok(())
    } else {
        Err(upstream(format!(
            "the ID token is for an account of tenant {tid}, which the configured tenant \
             `{configured}` does not admit"
        )))
    }
}

/// The stable account key: object id and tenant id (`sub` differs per application).
pub(crate) fn subject(claims: &IdClaims) -> Result<String, ProviderError> {
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
    me: &Value,
    configured_tenant: &str,
) -> Result<AccountIdentity, ProviderError> {
    let subject = subject(claims)?;
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

    fn verified(value: Value) -> IdClaims {
        match value {
            Value::Object(map) => IdClaims::from_verified(map).unwrap(),
            _ => unreachable!("claims are an object"),
        }
    }

    #[test]
    fn oid_and_tid_make_the_subject() {
        let claims = verified(json!({
            "aud": "app-id", "oid": "00000000-0000-0000-66f3-3332eca7ea81",
            "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "sub": "per-app-subject",
            "preferred_username": "ada@contoso.com", "name": "Ada"
        }));
        assert_eq!(
            subject(&claims).unwrap(),
            "00000000-0000-0000-66f3-3332eca7ea81:72f988bf-86f1-41af-91ab-2d7cd011db47"
        );
        let identity = account(&claims, &json!({}), "common").unwrap();
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
        let identity = account(&claims, &me, "consumers").unwrap();
        assert_eq!(identity.subject, format!("o:{PERSONAL_TENANT}"));
        assert_eq!(identity.label.as_deref(), Some("ada@outlook.com"));
        assert_eq!(identity.metadata["account_type"], "personal");
        assert_eq!(identity.metadata["graph_user_id"], "48d31887");
    }

    #[test]
    fn tokens_without_oid_or_tid_are_refused() {
        let missing = IdClaims {
            oid: Some("o".into()),
            ..IdClaims::default()
        };
        assert!(subject(&missing).is_err());
        let not_strings = serde_json::Map::from_iter([("oid".to_owned(), json!(7))]);
        assert!(IdClaims::from_verified(not_strings).is_err());
    }

    #[test]
    fn the_tokens_tenant_must_be_one_the_configuration_admits() {
        let work = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let of = |tid: &str| IdClaims {
            oid: Some("o".into()),
            tid: Some(tid.into()),
            ..IdClaims::default()
        };
        assert!(check_tenant(&of(work), "common").is_ok());
        assert!(check_tenant(&of(PERSONAL_TENANT), "common").is_ok());
        assert!(check_tenant(&of(work), "organizations").is_ok());
        assert!(check_tenant(&of(PERSONAL_TENANT), "organizations").is_err());
        assert!(check_tenant(&of(PERSONAL_TENANT), "consumers").is_ok());
        assert!(check_tenant(&of(work), "consumers").is_err());
        assert!(check_tenant(&of(work), &work.to_uppercase()).is_ok());
        let err = check_tenant(&of(PERSONAL_TENANT), work).unwrap_err();
        assert!(err.to_string().contains("does not admit"), "{err}");
        assert!(check_tenant(&of(work), "contoso.onmicrosoft.com").is_ok());
    }
}
