//! Scope tables and their conversion into catalogue entries, shared by the Google-based
//! providers; the OpenID Connect scopes every one of them uses.

use tether_core::scope_catalog::ScopeCategory;

pub use tether_provider_common::{ScopeSpec, catalogue, scope_set};

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
