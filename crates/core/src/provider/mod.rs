//! The providers Tether knows (a closed set: an unknown name is an error) and the contract a
//! provider crate implements.

mod contract;
mod error;
mod settings;
mod token_response;

pub use contract::{
    AccountIdentity, AuthorizeContext, ClientAuthMethod, ClientCredentials, ConnectionReport,
    Provider, ProviderCapabilities, ProviderEndpoints, TokenErrorClassifier,
};
pub use error::ProviderError;
pub use settings::{AppTokenSource, ProviderSettings};
pub use token_response::RawTokenResponse;

crate::closed_enum! {
    /// An upstream provider.
    pub enum ProviderKind ("provider") {
        Google = "google",
        Microsoft = "microsoft",
        Notion = "notion",
        Youtube = "youtube",
        Dexcom = "dexcom",
        Openemr = "openemr",
        Orange = "orange",
    }
}

/// How Tether obtains tokens from a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// A user connects through the browser (authorization code + PKCE).
    AuthorizationCode,
    /// An app-level token with no user (client credentials).
    ClientCredentials,
}

impl ProviderKind {
    pub const fn grant_kind(&self) -> GrantKind {
        match self {
            ProviderKind::Orange => GrantKind::ClientCredentials,
            _ => GrantKind::AuthorizationCode,
        }
    }

    /// A human name for messages and the provider list.
    pub const fn display_name(&self) -> &'static str {
        match self {
            ProviderKind::Google => "Google",
            ProviderKind::Microsoft => "Microsoft",
            ProviderKind::Notion => "Notion",
            ProviderKind::Youtube => "YouTube",
            ProviderKind::Dexcom => "Dexcom",
            ProviderKind::Openemr => "OpenEMR",
            ProviderKind::Orange => "Orange SMS",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_round_trips_through_text_and_json() {
        assert_eq!(ProviderKind::ALL.len(), 7);
        for kind in ProviderKind::ALL {
            assert_eq!(kind.as_str().parse::<ProviderKind>().unwrap(), *kind);
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<ProviderKind>(&json).unwrap(), *kind);
        }
    }

    #[test]
    fn provider_parsing_is_strict() {
        for bad in ["", "Google", "GOOGLE", " google", "gmail", "google\0"] {
            let err = bad.parse::<ProviderKind>().unwrap_err();
            assert!(err.to_string().contains("unknown provider"), "{err}");
        }
        assert!(serde_json::from_str::<ProviderKind>("\"facebook\"").is_err());
    }

    #[test]
    fn only_orange_uses_client_credentials() {
        for kind in ProviderKind::ALL {
            let expected = if *kind == ProviderKind::Orange {
                GrantKind::ClientCredentials
            } else {
                GrantKind::AuthorizationCode
            };
            assert_eq!(kind.grant_kind(), expected);
        }
    }
}
