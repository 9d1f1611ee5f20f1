//! Service and admin API keys; only a hash of the key is ever stored.

use chrono::{DateTime, Utc};

use crate::ids::ApiKeyId;

crate::closed_enum! {
    /// What an API key may do.
    pub enum ApiKeyRole ("api key role") {
        /// Read tokens, proxy calls, send SMS, act for a named user.
        Service = "service",
        /// Provider configuration, audit for all, API key management.
        Admin = "admin",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub role: ApiKeyRole,
    /// The first characters of the key, to recognise it in a list (`tk_ab12…`).
    pub prefix: String,
    /// Hex SHA-256 of the whole key.
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    pub name: String,
    pub role: ApiKeyRole,
    pub prefix: String,
    pub key_hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope_catalog::ScopeCategory;

    #[test]
    fn roles_and_categories_round_trip_and_reject_unknown_text() {
        for role in ApiKeyRole::ALL {
            assert_eq!(role.as_str().parse::<ApiKeyRole>().unwrap(), *role);
        }
        for cat in ScopeCategory::ALL {
            assert_eq!(cat.as_str().parse::<ScopeCategory>().unwrap(), *cat);
        }
        assert!("root".parse::<ApiKeyRole>().is_err());
        assert!("delete".parse::<ScopeCategory>().is_err());
    }
}
