//! The OpenEMR site a configuration talks to: its address, its site name (`default` unless the
//! installation is multisite), and the documented URLs derived from them.

use tether_core::provider::ProviderError;
use url::{Host, Url};

/// The site name OpenEMR uses when an installation serves one site.
pub const DEFAULT_SITE: &str = "default";

/// One OpenEMR site: `https://{host}[/{prefix}]` plus the site segment of its URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The address without a trailing slash (`https://emr.clinic-a.example`).
    base: String,
    /// The site segment (`default`, `alternate`, …).
    name: String,
}

impl Site {
    /// Reads the site from its address — the installation's base URL
    /// (`https://emr.clinic-a.example/`) or the site's FHIR base
    /// (`https://emr.clinic-a.example/apis/clinic_a/fhir`, which also names the site) — and an
    /// optional site name. A name given both ways must agree.
    pub fn parse(address: &str, site_name: Option<&str>) -> Result<Self, ProviderError> {
        let url = secure_url("the site address", address.trim())?;
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(misconfigured(
                "the site address must not carry a query, a fragment or credentials",
            ));
        }
        let text = url.as_str().trim_end_matches('/').to_owned();
        let (base, from_path) = match split_fhir_base(&text) {
            Some((base, name)) => (base.to_owned(), Some(name.to_owned())),
            None => (text, None),
        };
        let name = match (
            from_path,
            site_name.map(str::trim).filter(|s| !s.is_empty()),
        ) {
            (Some(path), Some(given)) if path != given => {
                return Err(misconfigured(&format!(
                    "the site address names the site `{path}` but the site name is `{given}`"
                )));
            }
            (Some(name), _) => name,
            (None, Some(given)) => given.to_owned(),
            (None, None) => DEFAULT_SITE.to_owned(),
        };
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            || name.starts_with('.')
        {
            return Err(misconfigured(
                "the site name may hold only letters, digits, `_`, `-` and `.`",
            ));
        }
        Ok(Self { base, name })
    }

    /// The installation address, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `{base}/apis/{site}/fhir`: the FHIR R4 base, also the `aud` of authorize requests.
    pub fn fhir_base(&self) -> String {
        format!("{}/apis/{}/fhir", self.base, self.name)
    }

    /// `{base}/oauth2/{site}`: the authorization server (and documented issuer).
    pub fn oauth_base(&self) -> String {
        format!("{}/oauth2/{}", self.base, self.name)
    }

    /// The SMART configuration document of this site.
    pub fn smart_configuration_url(&self) -> String {
        format!("{}/.well-known/smart-configuration", self.fhir_base())
    }

    /// Scheme, host and port: discovered endpoints must stay on it.
    pub fn origin(&self) -> Option<url::Origin> {
        Url::parse(&self.base).ok().map(|u| u.origin())
    }
}

/// `(base, site)` when `text` ends with `/apis/{site}/fhir`.
fn split_fhir_base(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_suffix("/fhir")?;
    let slash = rest.rfind('/')?;
    let (before, name) = (&rest[..slash], &rest[slash + 1..]);
    let base = before.strip_suffix("/apis")?;
    (!name.is_empty()).then_some((base, name))
}

/// Parses a URL that tokens or secrets may travel to: `https`, or plain `http` only for a
/// loopback host (a development install or a test server). OpenEMR itself requires TLS.
pub fn secure_url(what: &str, text: &str) -> Result<Url, ProviderError> {
    let url =
        Url::parse(text).map_err(|e| misconfigured(&format!("{what} is not a valid URL ({e})")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(misconfigured(&format!(
            "{what} must use https (OpenEMR requires TLS); plain http is only accepted for localhost"
        ))),
        other => Err(misconfigured(&format!(
            "{what} must be an https URL, not `{other}:`"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

pub(crate) fn misconfigured(message: &str) -> ProviderError {
    ProviderError::Misconfigured {
        message: format!("OpenEMR: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_address_gets_the_documented_paths_of_the_default_site() {
        let site = Site::parse("https://emr.clinic-a.example/", None).unwrap();
        assert_eq!(site.base(), "https://emr.clinic-a.example");
        assert_eq!(
            site.fhir_base(),
            "https://emr.clinic-a.example/apis/default/fhir"
        );
        assert_eq!(
            site.oauth_base(),
            "https://emr.clinic-a.example/oauth2/default"
        );
        assert_eq!(
            site.smart_configuration_url(),
            "https://emr.clinic-a.example/apis/default/fhir/.well-known/smart-configuration"
        );
    }

    #[test]
    fn a_path_prefix_and_a_named_site_are_kept() {
        let site = Site::parse("https://clinics.example/openemr", Some("clinic_b")).unwrap();
        assert_eq!(
            site.fhir_base(),
            "https://clinics.example/openemr/apis/clinic_b/fhir"
        );
    }

    #[test]
    fn a_fhir_base_address_names_its_site() {
        let site = Site::parse("https://emr.example/apis/alternate/fhir/", None).unwrap();
        assert_eq!(site.base(), "https://emr.example");
        assert_eq!(site.name(), "alternate");
        assert!(Site::parse("https://emr.example/apis/alternate/fhir", Some("alternate")).is_ok());
        let err = Site::parse("https://emr.example/apis/alternate/fhir", Some("default"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`alternate`") && err.contains("`default`"),
            "{err}"
        );
    }

    #[test]
    fn insecure_or_odd_addresses_are_refused_with_a_reason() {
        for (bad, says) in [
            ("http://emr.example/", "https"),
            ("ftp://emr.example/", "https"),
            ("emr.example", "not a valid URL"),
            ("https://emr.example/?x=1", "query"),
            ("https://user:pw@emr.example/", "credentials"),
        ] {
            let err = Site::parse(bad, None).unwrap_err();
            assert!(matches!(err, ProviderError::Misconfigured { .. }));
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
        let err = Site::parse("https://emr.example", Some("../etc")).unwrap_err();
        assert!(err.to_string().contains("site name"), "{err}");
    }

    #[test]
    fn plain_http_is_accepted_for_loopback_only() {
        assert!(Site::parse("http://127.0.0.1:8300", None).is_ok());
        assert!(Site::parse("http://localhost/", None).is_ok());
        assert!(Site::parse("http://[::1]:9300/", None).is_ok());
        assert!(Site::parse("http://10.0.0.5/", None).is_err());
    }
}
