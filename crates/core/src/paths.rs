//! URL path containment by whole segments: `/app/settings` contains `/app/settings` and
//! `/app/settings/x`, never `/app/settings-evil`.

/// Whether `path` is `base` or below it, comparing whole path segments. A trailing `/` on
/// `base` changes nothing; an empty `base` or `/` contains every path.
pub fn path_within(path: &str, base: &str) -> bool {
    let base = base.trim_end_matches('/');
    match path.strip_prefix(base) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::path_within;

    #[test]
    fn containment_is_by_whole_segments() {
        for (path, base) in [
            ("/app/settings", "/app/settings"),
            ("/app/settings/", "/app/settings"),
            ("/app/settings/x/y", "/app/settings"),
            ("/app/settings/x", "/app/settings/"),
            ("/anything", "/"),
            ("/anything", ""),
        ] {
            assert!(path_within(path, base), "{path} is within {base}");
        }
        for (path, base) in [
            ("/app/settings-evil", "/app/settings"),
            ("/app/settingsx/y", "/app/settings/"),
            ("/app", "/app/settings"),
            ("/v1.0-beta/me", "/v1.0"),
            ("/other", "/app"),
        ] {
            assert!(!path_within(path, base), "{path} is not within {base}");
        }
    }
}
