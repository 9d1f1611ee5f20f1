//! Console accounts: the operators (`admin`) and practice staff (`staff`, limited to the
//! provider instances granted to them) who sign in to `/console`, and their sessions. Only
//! hashes are stored: argon2id for passwords, SHA-256 for session tokens.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::error::ParseError;
use crate::ids::{ConsoleAccountId, ConsoleSessionId};
use crate::provider::ProviderKind;

crate::closed_enum! {
    /// What a console account may do.
    pub enum ConsoleRole ("console role") {
        /// Everything: API keys, console accounts, every provider instance.
        Admin = "admin",
        /// Only the provider instances granted to the account.
        Staff = "staff",
    }
}

/// A console account's name: 1–64 characters of `a-z`, `0-9`, `.`, `_`, `-` (stored lower
/// case, so `Alice` and `alice` are one account).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

impl Username {
    pub const MAX_LEN: usize = 64;

    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let text = text.trim().to_ascii_lowercase();
        if text.is_empty() || text.len() > Self::MAX_LEN {
            return Err(ParseError::invalid(
                "username",
                format!("must be 1 to {} characters", Self::MAX_LEN),
            ));
        }
        if !text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Err(ParseError::invalid(
                "username",
                "may contain only letters a-z, digits, '.', '_' and '-'",
            ));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Username {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// One provider instance a staff account may work with: `openemr:clinic-a`, or `notion`
/// for a provider's single, unnamed instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsoleGrant {
    pub provider: ProviderKind,
    /// Empty for the provider's usual single instance (as in `provider_configs`).
    pub instance: String,
}

impl ConsoleGrant {
    /// Most characters of an instance name.
    pub const MAX_INSTANCE_LEN: usize = 64;

    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let text = text.trim();
        let (provider, instance) = text.split_once(':').unwrap_or((text, ""));
        let provider: ProviderKind = provider.parse()?;
        if instance.len() > Self::MAX_INSTANCE_LEN
            || !instance
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(ParseError::invalid(
                "grant",
                format!(
                    "the instance after ':' may have up to {} letters, digits, '.', '_' or '-'",
                    Self::MAX_INSTANCE_LEN
                ),
            ));
        }
        Ok(Self {
            provider,
            instance: instance.to_owned(),
        })
    }

    /// Grants separated by commas, spaces or new lines; duplicates are dropped, order kept.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, ParseError> {
        let mut grants: Vec<Self> = Vec::new();
        for item in text
            .split([',', ' ', '\n', '\r', '\t'])
            .filter(|s| !s.is_empty())
        {
            let grant = Self::parse(item)?;
            if !grants.contains(&grant) {
                grants.push(grant);
            }
        }
        Ok(grants)
    }
}

impl fmt::Display for ConsoleGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.instance.is_empty() {
            write!(f, "{}", self.provider)
        } else {
            write!(f, "{}:{}", self.provider, self.instance)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleAccount {
    pub id: ConsoleAccountId,
    pub username: Username,
    pub role: ConsoleRole,
    /// The argon2id hash in PHC form (`$argon2id$v=19$…`); never the password.
    pub password_hash: String,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Staff accounts' provider instances (admins need none).
    pub grants: Vec<ConsoleGrant>,
}

impl ConsoleAccount {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    /// Whether the account may work with this provider instance.
    pub fn may_use(&self, provider: ProviderKind, instance: &str) -> bool {
        self.role == ConsoleRole::Admin
            || self
                .grants
                .iter()
                .any(|g| g.provider == provider && g.instance == instance)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsoleAccount {
    pub username: Username,
    pub role: ConsoleRole,
    pub password_hash: String,
    pub grants: Vec<ConsoleGrant>,
}

/// A signed-in session. The cookie carries a random token; only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub id: ConsoleSessionId,
    pub account_id: ConsoleAccountId,
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_reject_unknown_text() {
        for role in ConsoleRole::ALL {
            assert_eq!(role.as_str().parse::<ConsoleRole>().unwrap(), *role);
        }
        assert!("root".parse::<ConsoleRole>().is_err());
    }

    #[test]
    fn usernames_are_lower_case_and_plain() {
        assert_eq!(Username::parse(" Alice ").unwrap().as_str(), "alice");
        assert!(Username::parse("").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse("<script>").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn grants_parse_with_and_without_an_instance() {
        let grant = ConsoleGrant::parse("openemr:clinic-a").unwrap();
        assert_eq!(grant.provider, ProviderKind::Openemr);
        assert_eq!(grant.instance, "clinic-a");
        assert_eq!(grant.to_string(), "openemr:clinic-a");
        assert_eq!(ConsoleGrant::parse("notion").unwrap().to_string(), "notion");
        assert!(ConsoleGrant::parse("nope:x").is_err());
        assert!(ConsoleGrant::parse("openemr:a/b").is_err());
        let list = ConsoleGrant::parse_list("openemr:a, openemr:a\nnotion").unwrap();
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn staff_may_use_only_granted_instances() {
        let now = Utc::now();
        let mut account = ConsoleAccount {
            id: ConsoleAccountId::new(),
            username: Username::parse("sam").unwrap(),
            role: ConsoleRole::Staff,
            password_hash: String::new(),
            disabled_at: None,
            created_at: now,
            updated_at: now,
            grants: vec![ConsoleGrant::parse("openemr:clinic-a").unwrap()],
        };
        assert!(account.may_use(ProviderKind::Openemr, "clinic-a"));
        assert!(!account.may_use(ProviderKind::Openemr, "clinic-b"));
        assert!(!account.may_use(ProviderKind::Google, ""));
        account.role = ConsoleRole::Admin;
        assert!(account.may_use(ProviderKind::Google, ""));
    }
}
