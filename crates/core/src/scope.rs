//! OAuth scopes: one validated scope token (RFC 6749 §3.3) and an ordered, duplicate-free set.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::ParseError;

/// One scope token: 1–512 printable ASCII characters, excluding space, `"` and `\`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(String);

impl Scope {
    pub const MAX_LEN: usize = 512;

    pub fn parse(value: impl Into<String>) -> Result<Self, ParseError> {
        let value = value.into();
        if value.is_empty() {
            return Err(ParseError::invalid("scope", "must not be empty"));
        }
        if value.len() > Self::MAX_LEN {
            return Err(ParseError::invalid(
                "scope",
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        if let Some(bad) = value
            .chars()
            .find(|c| !matches!(*c as u32, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        {
            return Err(ParseError::invalid(
                "scope",
                format!("character {bad:?} is not allowed in a scope"),
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Scope {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Scope {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> Self {
        scope.0
    }
}

/// A set of scopes, kept sorted so that stored and compared forms are stable. Immutable and
/// shared: a clone is a reference count, not a copy (token reads clone granted scopes on every
/// request, and the read cache keeps one per entry); the rare `insert` copies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(Arc<[Scope]>);

impl ScopeSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the space-delimited form used on the wire (`scope=a b c`). Runs of whitespace
    /// are tolerated; an invalid token is an error.
    pub fn parse_delimited(text: &str) -> Result<Self, ParseError> {
        text.split_whitespace().map(Scope::parse).collect()
    }

    /// Adds `scope`; false when it was already there.
    pub fn insert(&mut self, scope: Scope) -> bool {
        let Err(at) = self.0.binary_search(&scope) else {
            return false;
        };
        let mut scopes = self.0.to_vec();
        scopes.insert(at, scope);
        self.0 = scopes.into();
        true
    }

    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.binary_search(scope).is_ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// The scopes of `self` that `other` lacks (e.g. requested but not granted).
    pub fn missing_from(&self, other: &ScopeSet) -> ScopeSet {
        self.iter()
            .filter(|scope| !other.contains(scope))
            .cloned()
            .collect()
    }

    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        self.iter().chain(other.iter()).cloned().collect()
    }

    /// The space-delimited wire form.
    pub fn to_delimited(&self) -> String {
        self.0
            .iter()
            .map(Scope::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut scopes: Vec<Scope> = iter.into_iter().collect();
        scopes.sort_unstable();
        scopes.dedup();
        Self(scopes.into())
    }
}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a Scope;
    type IntoIter = std::slice::Iter<'a, Scope>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A JSON array of scopes, sorted.
impl Serialize for ScopeSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

/// Any JSON array of valid scopes (sorted and deduplicated on the way in).
impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Scope>::deserialize(deserializer).map(|scopes| scopes.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_the_rfc_character_rules() {
        assert!(Scope::parse("https://www.googleapis.com/auth/calendar.readonly").is_ok());
        assert!(Scope::parse("patient/Patient.rs").is_ok());
        for bad in ["", "a b", "quote\"", "back\\slash", "tab\t", "é"] {
            assert!(Scope::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Scope::parse("x".repeat(513)).is_err());
    }

    #[test]
    fn scope_sets_parse_dedupe_and_compare() {
        let requested = ScopeSet::parse_delimited("openid  email profile email").unwrap();
        assert_eq!(requested.len(), 3);
        assert_eq!(requested.to_delimited(), "email openid profile");
        let granted = ScopeSet::parse_delimited("openid email").unwrap();
        assert_eq!(requested.missing_from(&granted).to_delimited(), "profile");
        assert!(granted.missing_from(&requested).is_empty());
        assert!(ScopeSet::parse_delimited("ok bad\"one").is_err());
    }

    #[test]
    fn inserting_keeps_the_set_sorted_and_leaves_clones_alone() {
        let mut set = ScopeSet::parse_delimited("c a").unwrap();
        let before = set.clone();
        assert!(set.insert(Scope::parse("b").unwrap()));
        assert!(!set.insert(Scope::parse("a").unwrap()), "already there");
        assert_eq!(set.to_delimited(), "a b c");
        assert_eq!(before.to_delimited(), "a c");
        assert!(set.contains(&Scope::parse("b").unwrap()));
        assert!(!before.contains(&Scope::parse("b").unwrap()));
        assert_eq!(
            set.union(&ScopeSet::parse_delimited("d a").unwrap())
                .to_delimited(),
            "a b c d"
        );
    }

    #[test]
    fn scope_sets_serialize_as_sorted_json_arrays_and_validate_on_the_way_in() {
        let set = ScopeSet::parse_delimited("b a").unwrap();
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["a","b"]"#);
        assert_eq!(serde_json::from_str::<ScopeSet>(&json).unwrap(), set);
        assert_eq!(
            serde_json::from_str::<ScopeSet>(r#"["b","a","b"]"#).unwrap(),
            set,
            "sorted and deduplicated on the way in"
        );
        assert!(serde_json::from_str::<ScopeSet>(r#"["has space"]"#).is_err());
    }
}
