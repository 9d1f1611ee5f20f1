//! SMART scope syntax: checking that a scope is one OpenEMR understands (base scopes, SMART v1
//! `.read`/`.write` and v2 `.cruds` resource scopes), and matching the two syntaxes.

/// Every base-level scope OpenEMR knows (PROVIDERS §6.8).
const KNOWN_BASE: [&str; 12] = [
    "openid",
    "fhirUser",
    "online_access",
    "offline_access",
    "launch",
    "launch/patient",
    "launch/encounter",
    "profile",
    "email",
    "api:oemr",
    "api:fhir",
    "api:port",
];

/// A SMART resource scope: `{context}/{Resource}.{permissions}[?filter]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResourceScope<'a> {
    context: &'a str,
    resource: &'a str,
    /// The v2 flags in canonical order, whichever syntax was used (`read` → `rs`).
    flags: String,
    v2: bool,
    filter: Option<&'a str>,
}

fn parse_resource_scope(text: &str) -> Result<ResourceScope<'_>, String> {
    let (body, filter) = match text.split_once('?') {
        Some((body, filter)) => (body, Some(filter)),
        None => (text, None),
    };
    let (context, rest) = body
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a known scope"))?;
    if !matches!(context, "patient" | "user" | "system") {
        return Err(format!(
            "`{text}`: the context must be patient/, user/ or system/"
        ));
    }
    let (resource, permissions) = rest
        .split_once('.')
        .ok_or_else(|| format!("`{text}`: expected {context}/Resource.permissions"))?;
    if resource != "*"
        && (resource.is_empty() || !resource.chars().all(|c| c.is_ascii_alphabetic()))
    {
        return Err(format!("`{text}`: `{resource}` is not a resource name"));
    }
    let (flags, v2) = match permissions {
        "read" => ("rs".to_owned(), false),
        "write" => ("cud".to_owned(), false),
        "*" => ("cruds".to_owned(), false),
        flags => {
            let mut last = None;
            for c in flags.chars() {
                let index = "cruds".find(c).ok_or_else(|| {
                    format!("`{text}`: `{c}` is not a SMART permission (c, r, u, d, s)")
                })?;
                if last.is_some_and(|l| index <= l) {
                    return Err(format!(
                        "`{text}`: SMART v2 permissions must appear once each, in the order c, r, u, d, s"
                    ));
                }
                last = Some(index);
            }
            if flags.is_empty() {
                return Err(format!("`{text}`: no permissions after the dot"));
            }
            (flags.to_owned(), true)
        }
    };
    if filter.is_some() && !v2 {
        return Err(format!("`{text}`: filters need SMART v2 permissions (.rs)"));
    }
    Ok(ResourceScope {
        context,
        resource,
        flags,
        v2,
        filter,
    })
}

/// Checks that `text` is a scope OpenEMR understands: a base scope, or a SMART v1/v2 resource
/// scope. `system/` scopes are refused: they need `private_key_jwt`, which Tether does not use.
pub fn check_scope(text: &str) -> Result<(), String> {
    if KNOWN_BASE.contains(&text) {
        return Ok(());
    }
    let parsed = parse_resource_scope(text)?;
    if parsed.context == "system" {
        return Err(format!(
            "`{text}`: system/ scopes need private_key_jwt client authentication, which Tether does not use"
        ));
    }
    Ok(())
}

/// The granted scope string with each resource scope's equivalent in the other SMART syntax
/// added (`.read` ⇔ `.rs`, `.write` ⇔ `.cud`), so a request in either syntax matches a site
/// that answers in the other.
pub(crate) fn with_equivalents(granted: &str) -> String {
    let mut out: Vec<String> = granted.split_whitespace().map(str::to_owned).collect();
    for token in granted.split_whitespace() {
        let Ok(scope) = parse_resource_scope(token) else {
            continue;
        };
        if scope.filter.is_some() {
            continue;
        }
        let prefix = format!("{}/{}", scope.context, scope.resource);
        let has = |flags: &str| flags.chars().all(|c| scope.flags.contains(c));
        let mut add = Vec::new();
        if scope.v2 {
            if has("rs") {
                add.push(format!("{prefix}.read"));
            }
            if has("cud") {
                add.push(format!("{prefix}.write"));
            }
        } else {
            add.push(format!("{prefix}.{}", scope.flags));
        }
        for extra in add {
            if !out.contains(&extra) {
                out.push(extra);
            }
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_smart_syntaxes_and_the_base_scopes_are_accepted() {
        for good in [
            "openid",
            "fhirUser",
            "api:fhir",
            "launch/patient",
            "patient/Patient.read",
            "patient/Patient.rs",
            "user/Observation.cruds",
            "user/Patient.write",
            "patient/*.read",
            "user/*.rs",
            "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs",
        ] {
            assert!(check_scope(good).is_ok(), "{good}: {:?}", check_scope(good));
        }
    }

    #[test]
    fn malformed_scopes_are_refused_with_the_reason() {
        for (bad, says) in [
            ("patient/Patient.sr", "in the order"),
            ("patient/Patient.rr", "in the order"),
            ("patient/Patient.x", "not a SMART permission"),
            ("patient/Patient.", "no permissions"),
            ("doctor/Patient.read", "context"),
            ("patient/Patient", "expected"),
            ("patient/Patient.read?x=1", "filters need"),
            ("system/*.rs", "private_key_jwt"),
            ("openemr", "not a known scope"),
        ] {
            let err = check_scope(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn granted_scopes_gain_their_equivalent_in_the_other_syntax() {
        assert_eq!(
            with_equivalents("openid user/Patient.rs patient/Observation.cruds"),
            "openid user/Patient.rs patient/Observation.cruds user/Patient.read patient/Observation.read patient/Observation.write"
        );
        assert_eq!(
            with_equivalents("user/Patient.read user/Patient.write"),
            "user/Patient.read user/Patient.write user/Patient.rs user/Patient.cud"
        );
        // Reading without searching is not v1 `.read`.
        assert_eq!(with_equivalents("user/Patient.r"), "user/Patient.r");
    }
}
