//! OpenEMR sites for the console: reading a site's SMART configuration before anything is
//! stored (what Tether will use there), and registering Tether as a client at a site.

use std::collections::BTreeMap;

use tether_api::{SiteDiscovery, SiteRegistration, SiteRegistrationRequest};
use tether_core::provider::{ClientCredentials, ProviderSettings};
use tether_core::secret::ClientSecret;
use tether_provider_openemr::{OpenEmrProvider, RegistrationRequest, ScopeSyntax};

/// Discovers the site without credentials (none are sent while discovering).
pub async fn discover(
    http: &reqwest::Client,
    site_url: &str,
    site_name: Option<&str>,
) -> Result<SiteDiscovery, String> {
    let mut options = BTreeMap::from([("site_url".to_owned(), site_url.trim().to_owned())]);
    if let Some(name) = site_name.map(str::trim).filter(|s| !s.is_empty()) {
        options.insert("site".to_owned(), name.to_owned());
    }
    let settings = ProviderSettings {
        instance: String::new(),
        client: ClientCredentials {
            // Discovery sends no credentials; building the provider needs some to be named.
            client_id: "tether-discovery".to_owned(),
            client_secret: Some(ClientSecret::new("unused-while-discovering".to_owned())),
        },
        endpoints: BTreeMap::new(),
        options,
    };
    let site = OpenEmrProvider::discover(&settings, http.clone())
        .await
        .map_err(|e| e.to_string())?;
    let mut facts = vec![
        ("FHIR base".to_owned(), site.fhir_base().to_owned()),
        (
            "Scope syntax".to_owned(),
            match site.scope_syntax() {
                ScopeSyntax::V1 => "SMART v1 (patient/Patient.read)".to_owned(),
                ScopeSyntax::V2 => "SMART v2 (patient/Patient.rs)".to_owned(),
            },
        ),
        (
            "Registration endpoint".to_owned(),
            site.registration_url().to_owned(),
        ),
    ];
    if let Some(smart) = site.smart_configuration() {
        let mut add = |what: &str, value: Option<&str>| {
            facts.push((
                what.to_owned(),
                value.unwrap_or("not advertised").to_owned(),
            ));
        };
        add("Issuer", smart.issuer.as_deref());
        add(
            "Authorization endpoint",
            Some(&smart.authorization_endpoint),
        );
        add("Token endpoint", Some(&smart.token_endpoint));
        add("Revocation endpoint", smart.revocation_endpoint.as_deref());
        let joined = |items: &[String]| (!items.is_empty()).then(|| items.join(", "));
        add("Capabilities", joined(&smart.capabilities).as_deref());
        add(
            "Client authentication",
            joined(&smart.token_endpoint_auth_methods_supported).as_deref(),
        );
        add(
            "PKCE methods",
            joined(&smart.code_challenge_methods_supported).as_deref(),
        );
    }
    Ok(SiteDiscovery {
        fhir_base: site.fhir_base().to_owned(),
        smart_configuration: site.smart_configuration().is_some(),
        facts,
    })
}

pub async fn register(
    http: &reqwest::Client,
    request: &SiteRegistrationRequest,
) -> Result<SiteRegistration, String> {
    let mut registration =
        RegistrationRequest::new(request.client_name.clone(), request.redirect_uri.clone());
    registration.contacts = request.contacts.clone();
    registration.site_name = request.site_name.clone();
    let done = tether_provider_openemr::register(http, &request.site_url, &registration)
        .await
        .map_err(|e| e.to_string())?;
    Ok(SiteRegistration {
        client_id: done.client_id,
        client_secret: done.client_secret,
        site_url: done.site_url,
        site_name: done.site_name,
        fhir_base: done.fhir_base,
        scope: done.scope,
        next_steps: done.next_steps,
    })
}
