//! Registering Tether as a confidential client at an OpenEMR site (RFC 7591 dynamic client
//! registration, as OpenEMR expects it: a JSON POST with `application_type: private`), and
//! what an administrator must do afterwards.

use serde_json::{Value, json};
use tether_core::provider::ProviderError;
use tether_core::secret::{ClientSecret, OpaqueSecret};

use crate::api;
use crate::discovery::{self, SmartConfiguration};
use crate::scopes::{self, BASE_SCOPES, ScopeSyntax};
use crate::site::{Site, misconfigured, secure_url};

/// What to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRequest {
    /// Shown to administrators and users on OpenEMR's screens.
    pub client_name: String,
    /// Tether's callback: `{public_url}/api/v1/oauth/openemr/callback`.
    pub redirect_uris: Vec<String>,
    /// E-mail addresses of the people responsible for the client.
    pub contacts: Vec<String>,
    /// Resource scopes to register besides the base ones (`openid fhirUser offline_access
    /// api:fhir`, always added). Empty: the default (reading patient demographics in the
    /// site's SMART syntax). A connection can later request only registered scopes.
    pub scopes: Vec<String>,
    /// The OpenEMR site name, when the address does not name it (default `default`).
    pub site_name: Option<String>,
}

impl RegistrationRequest {
    pub fn new(client_name: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        Self {
            client_name: client_name.into(),
            redirect_uris: vec![redirect_uri.into()],
            contacts: Vec::new(),
            scopes: Vec::new(),
            site_name: None,
        }
    }
}

/// A registered client.
#[derive(Debug)]
pub struct Registration {
    pub client_id: String,
    /// Shown by OpenEMR once; it cannot be read back later.
    pub client_secret: ClientSecret,
    /// Lets the registration be read back at `registration_client_uri`.
    pub registration_access_token: Option<OpaqueSecret>,
    pub registration_client_uri: Option<String>,
    /// Where the client was registered.
    pub registration_endpoint: String,
    /// Whether the site's SMART configuration named the registration endpoint.
    pub discovered: bool,
    pub site_url: String,
    pub site_name: String,
    pub fhir_base: String,
    /// The registered scopes (as OpenEMR echoed them, or as sent).
    pub scope: String,
    /// What the OpenEMR administrator and the Tether operator must do next.
    pub next_steps: Vec<String>,
}

/// Registers a confidential client at the site `site` (its base address or its FHIR base).
pub async fn register(
    http: &reqwest::Client,
    site: &str,
    request: &RegistrationRequest,
) -> Result<Registration, ProviderError> {
    let site = Site::parse(site, request.site_name.as_deref())?;
    check_request(request)?;
    let discovered = discovery::fetch(http, &site.smart_configuration_url()).await?;
    let endpoint = registration_endpoint(&site, discovered.as_ref())?;
    let scope = scope_to_register(request, discovered.as_ref());
    let body = json!({
        "application_type": "private",
        "client_name": request.client_name.trim(),
        "redirect_uris": request.redirect_uris,
        "token_endpoint_auth_method": "client_secret_post",
        "contacts": request.contacts,
        "scope": scope,
    });
    let answer = api::send(
        http.post(&endpoint)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body),
    )
    .await?;
    if !(200..300).contains(&answer.status) {
        return Err(registration_error(
            answer.status,
            answer.retry_after,
            &answer.body,
        ));
    }
    let value: Value =
        serde_json::from_slice(&answer.body).map_err(|_| ProviderError::Upstream {
            status: Some(answer.status),
            retry_after: None,
            message: "OpenEMR's registration answer is not JSON".to_owned(),
        })?;
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let missing = |what: &str| ProviderError::Upstream {
        status: Some(answer.status),
        retry_after: None,
        message: format!("OpenEMR's registration answer has no {what}"),
    };
    let client_id = text("client_id").ok_or_else(|| missing("client_id"))?;
    let client_secret = text("client_secret")
        .map(ClientSecret::new)
        .ok_or_else(|| missing("client_secret (was the client registered as public?)"))?;
    let registered_scope = text("scope").unwrap_or(scope);
    let next_steps = next_steps(&site, &request.client_name, &client_id, &registered_scope);
    Ok(Registration {
        client_id,
        client_secret,
        registration_access_token: text("registration_access_token").map(OpaqueSecret::new),
        registration_client_uri: text("registration_client_uri"),
        registration_endpoint: endpoint,
        discovered: discovered.is_some_and(|d| d.registration_endpoint.is_some()),
        site_url: site.base().to_owned(),
        site_name: site.name().to_owned(),
        fhir_base: site.fhir_base(),
        scope: registered_scope,
        next_steps,
    })
}

fn check_request(request: &RegistrationRequest) -> Result<(), ProviderError> {
    if request.client_name.trim().is_empty() {
        return Err(misconfigured("the client name must not be empty"));
    }
    if request.redirect_uris.is_empty() {
        return Err(misconfigured(
            "at least one redirect URI is needed: {public_url}/api/v1/oauth/openemr/callback",
        ));
    }
    for uri in &request.redirect_uris {
        secure_url("the redirect URI", uri)?;
    }
    if let Some(bad) = request
        .contacts
        .iter()
        .find(|c| !c.contains('@') || c.chars().any(char::is_whitespace))
    {
        return Err(misconfigured(&format!("`{bad}` is not an e-mail address")));
    }
    for scope in &request.scopes {
        scopes::check_scope(scope).map_err(|e| misconfigured(&e))?;
    }
    Ok(())
}

fn registration_endpoint(
    site: &Site,
    discovered: Option<&SmartConfiguration>,
) -> Result<String, ProviderError> {
    let Some(found) = discovered.and_then(|d| d.registration_endpoint.as_deref()) else {
        return Ok(format!("{}/registration", site.oauth_base()));
    };
    let url = secure_url("the discovered registration endpoint", found)?;
    if Some(url.origin()) != site.origin() {
        return Err(misconfigured(&format!(
            "the site's SMART configuration points registration at another server ({}); \
             check the Site Address in OpenEMR's Globals (Connectors)",
            url.origin().ascii_serialization()
        )));
    }
    Ok(found.to_owned())
}

fn scope_to_register(
    request: &RegistrationRequest,
    discovered: Option<&SmartConfiguration>,
) -> String {
    let mut scope: Vec<String> = BASE_SCOPES.iter().map(|(s, ..)| (*s).to_owned()).collect();
    if request.scopes.is_empty() {
        let syntax = match discovered {
            Some(d) if d.has_capability("permission-v2") => ScopeSyntax::V2,
            _ => ScopeSyntax::V1,
        };
        scope.extend(
            scopes::default_scopes(syntax)
                .iter()
                .map(|s| s.as_str().to_owned())
                .filter(|s| s.contains('/')),
        );
    }
    for extra in &request.scopes {
        if !scope.contains(extra) {
            scope.push(extra.clone());
        }
    }
    scope.join(" ")
}

fn registration_error(
    status: u16,
    retry_after: Option<std::time::Duration>,
    body: &[u8],
) -> ProviderError {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        value
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(|s| {
                s.chars()
                    .filter(|c| !c.is_control())
                    .take(300)
                    .collect::<String>()
            })
    };
    match (status, field("error")) {
        (429, _) => ProviderError::RateLimited {
            retry_after,
            message: "OpenEMR refused the registration for now (HTTP 429)".to_owned(),
        },
        (s, _) if s >= 500 => api::classify_api_error(s, retry_after, body),
        (404 | 405, None) => misconfigured(
            "the site has no registration endpoint; check the site address and that the FHIR API and OAuth2 are enabled in OpenEMR's Globals (Connectors)",
        ),
        (_, error) => {
            let error = error.unwrap_or_else(|| format!("HTTP {status}"));
            let detail = field("error_description")
                .or_else(|| field("message"))
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            misconfigured(&format!(
                "OpenEMR refused the registration ({error}{detail})"
            ))
        }
    }
}

fn next_steps(site: &Site, client_name: &str, client_id: &str, scope: &str) -> Vec<String> {
    let mut steps = vec![format!(
        "An OpenEMR administrator must enable the client: sign in to {} as an administrator, open Administration → System → API Clients, find \"{}\" (client id {client_id}) and click Enable. OpenEMR creates every confidential client disabled; until it is enabled, connecting fails (OpenEMR reports invalid_client).",
        site.base(),
        client_name.trim()
    )];
    if scope.split_whitespace().any(|s| s.starts_with("user/")) {
        steps.push(
            "The client asks for user/ scopes (data of every patient a user may see): OpenEMR requires the administrator's approval for these; review them on the same screen.".to_owned(),
        );
    }
    let site_option = if site.name() == crate::site::DEFAULT_SITE {
        String::new()
    } else {
        format!(", site = {}", site.name())
    };
    steps.push(format!(
        "In Tether, add the site to the provider configuration: provider openemr, an instance name for this clinic (e.g. clinic-a), site_url = {}{site_option}, the client id and the client secret printed above.",
        site.base()
    ));
    steps.push(
        "Connect an OpenEMR account through Tether and run the test connection: it reads the site's FHIR metadata and counts the patients the account can see.".to_owned(),
    );
    steps
}
