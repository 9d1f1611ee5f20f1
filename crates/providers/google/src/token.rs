//! Google's token-endpoint answers: the granted `scope` with Google's long names for the
//! OpenID scopes, and its error codes (`invalid_grant` with `error_subtype`, deleted or
//! disabled clients, Workspace policies) in the core error classes.

use std::time::Duration;

use serde_json::Value;
use tether_core::provider::{ProviderError, RawTokenResponse};
use tether_core::{Scope, ScopeSet};

/// Google reports `email` and `profile` as these URLs; both spellings name one grant.
const SCOPE_ALIASES: [(&str, &str); 2] = [
    ("email", "https://www.googleapis.com/auth/userinfo.email"),
    (
        "profile",
        "https://www.googleapis.com/auth/userinfo.profile",
    ),
];
const MESSAGE_LIMIT: usize = 500;

/// Parses a successful answer leniently. The granted `scope` is kept exactly as Google
/// reported it; [`grants`] reads its two spellings of the OpenID scopes.
pub fn parse_token_response(body: &[u8]) -> Result<RawTokenResponse, ProviderError> {
    RawTokenResponse::parse(body)
}

/// Whether `granted` covers `wanted`: a requested `email` is granted when Google reports
/// `…/auth/userinfo.email`, and the other way round.
pub fn grants(granted: &ScopeSet, wanted: &Scope) -> bool {
    granted.contains(wanted)
        || SCOPE_ALIASES.iter().any(|(short, long)| {
            let other = match wanted.as_str() {
                w if w == *short => long,
                w if w == *long => short,
                _ => return false,
            };
            Scope::parse(*other).is_ok_and(|other| granted.contains(&other))
        })
}

/// Classifies a failed token or revocation answer.
pub fn classify_token_error(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> ProviderError {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |name: &str| json.get(name).and_then(Value::as_str);
    let (error, description) = (field("error"), field("error_description"));
    if status == 429 || status >= 500 {
        return ProviderError::from_oauth_error(status, retry_after, error, description);
    }
    let message = |extra: &str| -> String {
        let base = match (error, description) {
            (Some(e), Some(d)) => format!("{e}: {d}"),
            (Some(e), None) => e.to_owned(),
            (None, _) => format!("HTTP {status}"),
        };
        format!("{base}{extra}")
            .chars()
            .take(MESSAGE_LIMIT)
            .collect()
    };
    match error {
        Some("invalid_grant") => {
            let extra = match field("error_subtype") {
                Some("invalid_rapt") => {
                    " (invalid_rapt: a Google Workspace session-control policy requires the user to sign in again)"
                        .to_owned()
                }
                Some(other) => format!(" ({other})"),
                None => String::new(),
            };
            ProviderError::InvalidGrant {
                message: message(&extra),
            }
        }
        // A Workspace administrator blocked the app for this account: the grant is unusable.
        Some("admin_policy_enforced") => ProviderError::Revoked {
            message: message(""),
        },
        Some(
            "deleted_client"
            | "disabled_client"
            | "org_internal"
            | "access_not_configured"
            | "redirect_uri_mismatch",
        ) => ProviderError::Misconfigured {
            message: message(""),
        },
        Some("rate_limit_exceeded") => ProviderError::RateLimited {
            retry_after,
            message: message(""),
        },
        _ => ProviderError::from_oauth_error(status, retry_after, error, description),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_openid_scope_names_count_as_their_short_names_without_inventing_grants() {
        let raw = parse_token_response(
            br#"{"access_token":"ya29.a","expires_in":3599,"scope":"https://www.googleapis.com/auth/userinfo.email openid https://www.googleapis.com/auth/calendar.readonly","token_type":"Bearer","id_token":"eyJ.x.y"}"#,
        )
        .unwrap();
        let granted = raw.granted_scopes().unwrap();
        // Stored exactly as reported: three scopes, not four.
        assert_eq!(
            granted.to_delimited(),
            "https://www.googleapis.com/auth/calendar.readonly https://www.googleapis.com/auth/userinfo.email openid"
        );
        assert!(raw.id_token.is_some());
        let scope = |s: &str| Scope::parse(s).unwrap();
        assert!(grants(&granted, &scope("email")));
        assert!(grants(&granted, &scope("openid")));
        assert!(!grants(&granted, &scope("profile")));
        let short = ScopeSet::parse_delimited("profile").unwrap();
        assert!(grants(
            &short,
            &scope("https://www.googleapis.com/auth/userinfo.profile")
        ));
        assert!(!grants(&short, &scope("email")));
    }

    #[test]
    fn token_errors_keep_googles_words() {
        let rapt = classify_token_error(
            400,
            None,
            br#"{"error":"invalid_grant","error_description":"reauth related error (invalid_rapt)","error_subtype":"invalid_rapt"}"#,
        );
        assert!(rapt.needs_reauth());
        assert!(
            rapt.to_string().contains("session-control policy"),
            "{rapt}"
        );
        let deleted = classify_token_error(
            401,
            None,
            br#"{"error":"deleted_client","error_description":"The OAuth client was deleted."}"#,
        );
        assert!(
            matches!(deleted, ProviderError::Misconfigured { message } if message == "deleted_client: The OAuth client was deleted.")
        );
        let blocked = classify_token_error(400, None, br#"{"error":"admin_policy_enforced"}"#);
        assert!(matches!(blocked, ProviderError::Revoked { .. }));
        assert!(classify_token_error(503, None, b"<html>").is_transient());
    }
}
