//! OpenEMR's scopes: the base scopes Tether always asks for, the resource scopes it describes
//! in SMART v1 (`.read`/`.write`) and v2 (`.rs`/`.cud`) syntax, and the defaults.

mod syntax;

pub use syntax::check_scope;
pub(crate) use syntax::with_equivalents;

use tether_core::scope_catalog::{ScopeCatalogEntry, ScopeCategory};
use tether_core::{ProviderKind, Scope, ScopeSet};

/// Identity, refresh and the FHIR API selector: required on every connection.
pub const BASE_SCOPES: [(&str, &str, &str); 4] = [
    (
        "openid",
        "Sign-in identity",
        "Lets Tether learn which OpenEMR account was connected.",
    ),
    (
        "fhirUser",
        "Your OpenEMR user record",
        "Tells Tether which practitioner or patient record belongs to the signed-in account.",
    ),
    (
        "offline_access",
        "Stay connected",
        "Lets Tether renew access without asking you to sign in again (for up to 3 months of inactivity).",
    ),
    (
        "api:fhir",
        "Use the FHIR API",
        "Allows calls to the site's FHIR API; needed for any clinical data.",
    ),
];

/// FHIR resources offered for reading, with what they hold.
const READ_RESOURCES: [(&str, &str); 12] = [
    (
        "Patient",
        "demographics (name, date of birth, contact details)",
    ),
    (
        "Observation",
        "vital signs, laboratory results and other observations",
    ),
    ("Condition", "problems and diagnoses"),
    ("AllergyIntolerance", "allergies and intolerances"),
    ("MedicationRequest", "prescriptions and medication orders"),
    ("Immunization", "immunizations"),
    ("Encounter", "visits and encounters"),
    ("Procedure", "procedures"),
    ("DiagnosticReport", "diagnostic reports"),
    ("DocumentReference", "clinical documents and notes"),
    ("Practitioner", "practitioners (clinic staff)"),
    ("Organization", "organizations (clinics, facilities)"),
];

/// Resources OpenEMR's FHIR API can create or update (user context only).
const WRITE_RESOURCES: [(&str, &str); 3] = [
    ("Patient", "patient demographics"),
    ("Practitioner", "practitioner records"),
    ("Organization", "organization records"),
];

/// Which SMART scope syntax a site gets in Tether's default requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeSyntax {
    /// `patient/Patient.read`: accepted by every OpenEMR version with SMART support.
    V1,
    /// `patient/Patient.rs`: SMART App Launch 2 (sites advertising `permission-v2`).
    V2,
}

impl ScopeSyntax {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "v1" => Some(Self::V1),
            "v2" => Some(Self::V2),
            _ => None,
        }
    }

    fn read(self) -> &'static str {
        match self {
            Self::V1 => "read",
            Self::V2 => "rs",
        }
    }
}

/// The scopes requested when a caller names none: the base scopes and reading patient
/// demographics in the user's context (what the test connection's Patient search needs).
pub fn default_scopes(syntax: ScopeSyntax) -> ScopeSet {
    BASE_SCOPES
        .iter()
        .map(|(s, ..)| (*s).to_owned())
        .chain([format!("user/Patient.{}", syntax.read())])
        .filter_map(|s| Scope::parse(s).ok())
        .collect()
}

/// Every scope Tether describes, in both SMART syntaxes.
pub fn catalogue() -> Vec<ScopeCatalogEntry> {
    let mut entries = Vec::new();
    let mut push =
        |scope: String, name: String, description: String, category, required, dangerous| {
            if let Ok(scope) = Scope::parse(scope) {
                entries.push(ScopeCatalogEntry {
                    provider: ProviderKind::Openemr,
                    scope,
                    display_name: name,
                    description,
                    category,
                    is_required: required,
                    is_dangerous: dangerous,
                });
            }
        };
    for (scope, name, description) in BASE_SCOPES {
        push(
            scope.into(),
            name.into(),
            description.into(),
            ScopeCategory::Read,
            true,
            false,
        );
    }
    push(
        "launch/patient".into(),
        "Choose a patient at sign-in".into(),
        "OpenEMR asks which patient the connection is about; patient/ scopes then apply to that patient.".into(),
        ScopeCategory::Read,
        false,
        false,
    );
    for syntax in [ScopeSyntax::V1, ScopeSyntax::V2] {
        let tag = match syntax {
            ScopeSyntax::V1 => "SMART v1",
            ScopeSyntax::V2 => "SMART v2",
        };
        for (resource, what) in READ_RESOURCES {
            push(
                format!("patient/{resource}.{}", syntax.read()),
                format!("Read {resource} (one patient)"),
                format!("Read and search the {what} of the patient in context ({tag})."),
                ScopeCategory::Read,
                false,
                false,
            );
            push(
                format!("user/{resource}.{}", syntax.read()),
                format!("Read {resource} (all patients you can see)"),
                format!(
                    "Read and search the {what} of every patient the signed-in user may see ({tag})."
                ),
                ScopeCategory::Read,
                false,
                resource != "Practitioner" && resource != "Organization",
            );
        }
        let write = match syntax {
            ScopeSyntax::V1 => "write",
            ScopeSyntax::V2 => "cud",
        };
        for (resource, what) in WRITE_RESOURCES {
            push(
                format!("user/{resource}.{write}"),
                format!("Change {resource}"),
                format!("Create and update {what} as the signed-in user ({tag})."),
                ScopeCategory::Write,
                false,
                true,
            );
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_lists_each_resource_scope_in_both_syntaxes_and_marks_base_scopes_required() {
        let catalogue = catalogue();
        let find = |s: &str| catalogue.iter().find(|e| e.scope.as_str() == s);
        for s in [
            "patient/Patient.read",
            "patient/Patient.rs",
            "user/Patient.write",
            "user/Patient.cud",
        ] {
            assert!(find(s).is_some(), "{s} missing");
        }
        let required: Vec<&str> = catalogue
            .iter()
            .filter(|e| e.is_required)
            .map(|e| e.scope.as_str())
            .collect();
        assert_eq!(
            required,
            ["openid", "fhirUser", "offline_access", "api:fhir"]
        );
        let write = find("user/Patient.cud").unwrap();
        assert_eq!(write.category, ScopeCategory::Write);
        assert!(write.is_dangerous);
        assert!(!find("patient/Observation.rs").unwrap().is_dangerous);
        assert!(find("user/Observation.read").unwrap().is_dangerous);
        for entry in &catalogue {
            assert!(check_scope(entry.scope.as_str()).is_ok(), "{}", entry.scope);
        }
    }

    #[test]
    fn default_scopes_follow_the_site_syntax() {
        let v1 = default_scopes(ScopeSyntax::V1).to_delimited();
        assert_eq!(
            v1,
            "api:fhir fhirUser offline_access openid user/Patient.read"
        );
        let v2 = default_scopes(ScopeSyntax::V2).to_delimited();
        assert!(v2.ends_with("user/Patient.rs"), "{v2}");
    }
}
