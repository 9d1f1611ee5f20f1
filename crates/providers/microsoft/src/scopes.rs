//! The Microsoft scope sets (defaults, implicit) and the normalisation of the `scope`
//! Microsoft reports back.

use crate::catalogue::canonical;

/// Requested when the caller names none: sign-in, the profile, and read access to calendar,
/// mail and files (scopes a personal account can grant too).
pub(crate) const DEFAULTS: &[&str] = &[
    "openid",
    "profile",
    "email",
    "offline_access",
    "User.Read",
    "Calendars.Read",
    "Mail.Read",
    "Files.Read",
];

/// Always requested, never required back: refresh tokens, and the ID token that names the
/// account.
pub(crate) const IMPLICIT: &[&str] = &["offline_access", "openid"];

/// Microsoft Graph's application id, the resource part of some resource-qualified scopes.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

#[cfg(test)]
pub(crate) fn default_scopes() -> tether_core::ScopeSet {
    tether_provider_common::scope_set(DEFAULTS)
}

#[cfg(test)]
pub(crate) fn implicit_scopes() -> tether_core::ScopeSet {
    tether_provider_common::scope_set(IMPLICIT)
}

/// One reported scope in the form it was requested: URL-decoded, without the Graph resource
/// prefix (`https://graph.microsoft.com/`, the `graph_origin` of an overridden API base, or
/// Graph's application id), and in the catalogue's spelling when it matches one ignoring
/// case. Scopes of other resources keep their prefix.
pub fn normalise_scope(reported: &str, graph_origin: &str) -> String {
    let decoded = percent_decode(reported);
    let mut name = decoded.as_str();
    let app_prefix = format!("{GRAPH_APP_ID}/");
    for prefix in [
        "https://graph.microsoft.com/",
        graph_origin,
        app_prefix.as_str(),
    ] {
        if !prefix.is_empty()
            && name.len() > prefix.len()
            && name.is_char_boundary(prefix.len())
            && name[..prefix.len()].eq_ignore_ascii_case(prefix)
        {
            name = &name[prefix.len()..];
            break;
        }
    }
    canonical(name).map_or_else(|| name.to_owned(), str::to_owned)
}

/// The normalised, space-delimited form of a reported `scope` value.
pub(crate) fn normalise_reported(scope: &str, graph_origin: &str) -> String {
    let decoded = percent_decode(scope);
    let mut names: Vec<String> = decoded
        .split_whitespace()
        .map(|s| normalise_scope(s, graph_origin))
        .collect();
    names.dedup();
    names.join(" ")
}

/// `%XX` decoding (Microsoft's examples report scopes URL-encoded); malformed escapes stay.
fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAPH: &str = "https://graph.microsoft.com/";

    #[test]
    fn graph_prefixes_encoding_and_case_are_normalised() {
        assert_eq!(
            normalise_scope("https://graph.microsoft.com/User.Read", GRAPH),
            "User.Read"
        );
        assert_eq!(
            normalise_scope("https%3A%2F%2Fgraph.microsoft.com%2Fmail.read", GRAPH),
            "Mail.Read"
        );
        assert_eq!(
            normalise_scope("00000003-0000-0000-c000-000000000000/Files.Read", GRAPH),
            "Files.Read"
        );
        assert_eq!(
            normalise_scope(
                "https://graph.microsoft.us/Mail.Send",
                "https://graph.microsoft.us/"
            ),
            "Mail.Send"
        );
        assert_eq!(
            normalise_scope("https://outlook.office.com/Mail.Read", GRAPH),
            "https://outlook.office.com/Mail.Read",
            "another resource's scope keeps its prefix"
        );
        assert_eq!(normalise_scope("Custom.Scope", GRAPH), "Custom.Scope");
    }

    #[test]
    fn a_whole_encoded_scope_string_is_split_after_decoding() {
        assert_eq!(
            normalise_reported(
                "openid%20https%3A%2F%2Fgraph.microsoft.com%2Fuser.read%20profile",
                GRAPH
            ),
            "openid User.Read profile"
        );
    }
}
