//! Scope tables and their conversion into catalogue entries, shared by the Google-based
//! providers; the OpenID Connect scopes every one of them uses.

use tether_core::scope_catalog::{ScopeCatalogEntry, ScopeCategory};
use tether_core::{ProviderKind, Scope, ScopeSet};

/// One row of a provider's scope table.
#[derive(Debug, Clone, Copy)]
pub struct ScopeSpec {
    pub scope: &'static str,
    pub display_name: &'static str,
    pub description: &'static str,
    pub category: ScopeCategory,
    pub is_required: bool,
    pub is_dangerous: bool,
}

impl ScopeSpec {
    pub const fn new(
        scope: &'static str,
        display_name: &'static str,
        description: &'static str,
        category: ScopeCategory,
    ) -> Self {
        Self {
            scope,
            display_name,
            description,
            category,
            is_required: false,
            is_dangerous: false,
        }
    }

    pub const fn required(mut self) -> Self {
        self.is_required = true;
        self
    }

    pub const fn dangerous(mut self) -> Self {
        self.is_dangerous = true;
        self
    }
}

/// A [`ScopeSpec`] for `https://www.googleapis.com/auth/<suffix>`.
#[macro_export]
macro_rules! google_scope {
    ($suffix:literal, $name:literal, $description:literal, $category:expr) => {
        $crate::ScopeSpec::new(
            concat!("https://www.googleapis.com/auth/", $suffix),
            $name,
            $description,
            $category,
        )
    };
}

pub const OPENID: ScopeSpec = ScopeSpec::new(
    "openid",
    "Sign-in identity",
    "Identify your Google account (its stable id).",
    ScopeCategory::Read,
);
pub const EMAIL: ScopeSpec = ScopeSpec::new(
    "email",
    "E-mail address",
    "See the primary e-mail address of your Google account.",
    ScopeCategory::Read,
);
pub const PROFILE: ScopeSpec = ScopeSpec::new(
    "profile",
    "Basic profile",
    "See your name and profile picture.",
    ScopeCategory::Read,
);

/// The catalogue entries of a table (a row that is not a valid scope is a bug, caught by
/// each provider's tests, and skipped).
pub fn catalogue(kind: ProviderKind, table: &[ScopeSpec]) -> Vec<ScopeCatalogEntry> {
    table
        .iter()
        .filter_map(|spec| {
            Some(ScopeCatalogEntry {
                provider: kind,
                scope: Scope::parse(spec.scope).ok()?,
                display_name: spec.display_name.to_owned(),
                description: spec.description.to_owned(),
                category: spec.category,
                is_required: spec.is_required,
                is_dangerous: spec.is_dangerous,
            })
        })
        .collect()
}

/// A set of scopes given by name (invalid names skipped, as in [`catalogue`]).
pub fn scope_set(names: &[&str]) -> ScopeSet {
    names.iter().filter_map(|s| Scope::parse(*s).ok()).collect()
}
