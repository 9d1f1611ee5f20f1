//! From `ProviderSettings` (and a discovered SMART configuration, when there is one) to the
//! endpoints and choices of one site. Precedence: an endpoint override, then discovery, then
//! the documented path.

use tether_core::provider::{ClientAuthMethod, ProviderEndpoints, ProviderError, ProviderSettings};
use url::Url;

use crate::discovery::SmartConfiguration;
use crate::scopes::ScopeSyntax;
use crate::site::{Site, misconfigured, secure_url};

/// Option names a configuration may set.
pub const OPTION_NAMES: [&str; 5] = [
    "site_url",
    "site",
    "scope_syntax",
    "client_auth",
    "revocation",
];

/// Whether Tether revokes tokens at the site (PROVIDERS §6.6: it depends on the version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RevocationMode {
    /// Revoke when the site advertises a `revocation_endpoint` (or one is configured).
    Auto,
    /// Revoke at the advertised, configured or documented (`/oauth2/{site}/revoke`) endpoint.
    Always,
    /// Never revoke at the site; disconnecting only deletes the tokens.
    Never,
}

/// Everything a provider is built from.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub site: Site,
    pub fhir_base: String,
    pub endpoints: ProviderEndpoints,
    pub registration_url: String,
    /// The keys the site signs ID tokens with.
    pub jwks_url: Url,
    pub client_auth: ClientAuthMethod,
    pub scope_syntax: ScopeSyntax,
    pub requires_issuer_parameter: bool,
}

/// Reads the site from the settings (option `site_url` is required).
pub(crate) fn site(settings: &ProviderSettings) -> Result<Site, ProviderError> {
    let address = settings.option("site_url").ok_or_else(|| {
        misconfigured(
            "option `site_url` is required: the address of the OpenEMR site, e.g. https://emr.clinic-a.example/",
        )
    })?;
    Site::parse(address, settings.option("site"))
}

pub(crate) fn resolve(
    settings: &ProviderSettings,
    discovered: Option<&SmartConfiguration>,
) -> Result<Resolved, ProviderError> {
    settings.check_known(&crate::provider::OPENEMR.endpoint_names(), &OPTION_NAMES)?;
    let site = site(settings)?;
    let oauth = site.oauth_base();
    let origin = site.origin();
    // A discovered endpoint must stay on the site: the client secret is sent to some of them.
    let found = |value: Option<&str>, what: &str| -> Result<Option<String>, ProviderError> {
        let Some(value) = value else { return Ok(None) };
        let url = secure_url(&format!("the discovered {what} endpoint"), value)?;
        if Some(url.origin()) != origin {
            return Err(misconfigured(&format!(
                "the site's SMART configuration points its {what} endpoint at another server ({}); \
                 check the Site Address in OpenEMR's Globals (Connectors) matches `site_url`",
                url.origin().ascii_serialization()
            )));
        }
        Ok(Some(value.to_owned()))
    };
    let pick = |name: &str, discovered: Option<String>, default: String| {
        let value = settings
            .endpoints
            .get(name)
            .cloned()
            .or(discovered)
            .unwrap_or(default);
        secure_url(&format!("endpoint `{name}`"), &value)?;
        Ok::<_, ProviderError>(value)
    };
    let d = discovered;
    let fhir_base = pick("fhir_base", None, site.fhir_base())?
        .trim_end_matches('/')
        .to_owned();
    let authorize = pick(
        "authorize",
        found(d.map(|c| c.authorization_endpoint.as_str()), "authorize")?,
        format!("{oauth}/authorize"),
    )?;
    let token = pick(
        "token",
        found(d.map(|c| c.token_endpoint.as_str()), "token")?,
        format!("{oauth}/token"),
    )?;
    let userinfo = pick(
        "userinfo",
        found(d.and_then(|c| c.userinfo_endpoint.as_deref()), "userinfo")?,
        format!("{oauth}/userinfo"),
    )?;
    let registration_url = pick(
        "registration",
        found(
            d.and_then(|c| c.registration_endpoint.as_deref()),
            "registration",
        )?,
        format!("{oauth}/registration"),
    )?;
    let jwks = pick(
        "jwks",
        found(d.and_then(|c| c.jwks_uri.as_deref()), "jwks")?,
        format!("{oauth}/jwk"),
    )?;
    let api_base = pick("api_base", None, fhir_base.clone())?;
    let issuer = settings
        .endpoints
        .get("issuer")
        .cloned()
        .or_else(|| d.and_then(|c| c.issuer.clone()))
        .unwrap_or_else(|| oauth.clone());
    let discovered_revocation = found(
        d.and_then(|c| c.revocation_endpoint.as_deref()),
        "revocation",
    )?;
    let configured_revocation = settings.endpoints.get("revocation").cloned();
    let revocation = match revocation_mode(settings)? {
        RevocationMode::Never => None,
        RevocationMode::Auto => configured_revocation.or(discovered_revocation),
        RevocationMode::Always => Some(
            configured_revocation
                .or(discovered_revocation)
                .unwrap_or_else(|| format!("{oauth}/revoke")),
        ),
    };
    if let Some(url) = &revocation {
        secure_url("endpoint `revocation`", url)?;
    }
    Ok(Resolved {
        fhir_base,
        endpoints: ProviderEndpoints {
            authorize_url: Some(authorize),
            token_url: token,
            revocation_url: revocation,
            userinfo_url: Some(userinfo),
            api_base_url: api_base,
            issuer: Some(issuer),
        },
        registration_url,
        jwks_url: secure_url("endpoint `jwks`", &jwks)?,
        client_auth: client_auth(settings, d)?,
        scope_syntax: scope_syntax(settings, d)?,
        requires_issuer_parameter: d
            .is_some_and(|c| c.authorization_response_iss_parameter_supported),
        site,
    })
}

fn revocation_mode(settings: &ProviderSettings) -> Result<RevocationMode, ProviderError> {
    match settings.option("revocation") {
        None | Some("auto") => Ok(RevocationMode::Auto),
        Some("true") => Ok(RevocationMode::Always),
        Some("false") => Ok(RevocationMode::Never),
        Some(other) => Err(misconfigured(&format!(
            "option `revocation` must be auto, true or false, not `{other}`"
        ))),
    }
}

/// `client_secret_post` unless told otherwise or the site advertises only Basic: the one
/// method every OpenEMR version accepts (PROVIDERS §6.2).
fn client_auth(
    settings: &ProviderSettings,
    discovered: Option<&SmartConfiguration>,
) -> Result<ClientAuthMethod, ProviderError> {
    match settings.option("client_auth") {
        Some("client_secret_post") => return Ok(ClientAuthMethod::Post),
        Some("client_secret_basic") => return Ok(ClientAuthMethod::Basic),
        Some(other) => {
            return Err(misconfigured(&format!(
                "option `client_auth` must be client_secret_post or client_secret_basic, not `{other}`"
            )));
        }
        None => {}
    }
    let methods = discovered
        .map(|c| c.token_endpoint_auth_methods_supported.as_slice())
        .unwrap_or_default();
    let has = |m: &str| methods.iter().any(|x| x == m);
    Ok(
        if !has("client_secret_post") && has("client_secret_basic") {
            ClientAuthMethod::Basic
        } else {
            ClientAuthMethod::Post
        },
    )
}

/// SMART v1 unless told otherwise or the site advertises `permission-v2`: every OpenEMR
/// version with SMART support accepts v1 scopes.
fn scope_syntax(
    settings: &ProviderSettings,
    discovered: Option<&SmartConfiguration>,
) -> Result<ScopeSyntax, ProviderError> {
    if let Some(text) = settings.option("scope_syntax") {
        return ScopeSyntax::parse(text).ok_or_else(|| {
            misconfigured(&format!(
                "option `scope_syntax` must be v1 or v2, not `{text}`"
            ))
        });
    }
    Ok(match discovered {
        Some(c) if c.has_capability("permission-v2") => ScopeSyntax::V2,
        _ => ScopeSyntax::V1,
    })
}
