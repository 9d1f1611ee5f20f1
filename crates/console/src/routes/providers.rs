//! `/console/providers` and `/console/providers/{instance}` (`openemr:clinic-a`, `notion`):
//! each provider instance's configuration status, the configuration form (client id, a
//! secret that is never shown again, options, endpoint overrides, an OpenEMR site address),
//! removal, and the connection test with what to do next. Admins see every instance; staff
//! only the ones granted to them. Saving goes through the admin API's use-case: same checks,
//! same audit, applied at once.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use tether_api::ApiState;
use tether_core::ProviderKind;
use tether_core::audit::Actor;
use tether_core::console::{ConsoleGrant, ConsoleRole};
use tether_core::provider_config::{ProviderConfig, ProviderConfigInput};
use tether_core::secret::ClientSecret;

use super::{CsrfForm, NoticeQuery, notice_text};
use crate::ConsoleError;
use crate::page::{self, Nav, csrf_field, page, respond, see_other};
use crate::session::Signed;

/// Where a provider instance's configuration comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Entered at run time (console or admin API), stored encrypted in the database.
    Stored {
        enabled: bool,
    },
    /// The configuration file or the environment.
    File,
    Sandbox,
    None,
}

impl Source {
    fn describe(self) -> &'static str {
        match self {
            Source::Stored { enabled: true } => "configured in Tether (stored, enabled)",
            Source::Stored { enabled: false } => "stored but disabled",
            Source::File => "configured by the configuration file or environment",
            Source::Sandbox => "served by the built-in sandbox (no real provider)",
            Source::None => "not configured",
        }
    }
}

pub(crate) fn path_of(grant: &ConsoleGrant) -> String {
    format!("/console/providers/{grant}")
}

/// The `{instance}` path segment, and the account's right to it.
pub(crate) fn granted(signed: &Signed, text: &str) -> Result<ConsoleGrant, ConsoleError> {
    let grant = ConsoleGrant::parse(text).map_err(|_| ConsoleError::NotFound)?;
    signed.require_grant(&grant)?;
    Ok(grant)
}

async fn source_of(
    api: &ApiState,
    grant: &ConsoleGrant,
) -> Result<(Source, Option<ProviderConfig>), ConsoleError> {
    let stored = api
        .stores
        .provider_configs
        .get(grant.provider, &grant.instance)
        .await?;
    Ok((source(api, grant, stored.as_ref()), stored))
}

/// Where an instance's configuration comes from, given its stored one (if any).
fn source(api: &ApiState, grant: &ConsoleGrant, stored: Option<&ProviderConfig>) -> Source {
    match stored {
        Some(config) => Source::Stored {
            enabled: config.enabled,
        },
        None => match api
            .broker()
            .providers()
            .get(grant.provider, &grant.instance)
        {
            Ok(p) if p.is_sandbox() => Source::Sandbox,
            Ok(_) => Source::File,
            Err(_) => Source::None,
        },
    }
}

pub(crate) async fn list(
    signed: Signed,
    api: web::Data<ApiState>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ConsoleError> {
    // Every stored configuration in one query: the sources are read from it.
    let stored: BTreeMap<ConsoleGrant, ProviderConfig> = api
        .stores
        .provider_configs
        .list()
        .await?
        .into_iter()
        .map(|config| {
            let grant = ConsoleGrant {
                provider: config.provider,
                instance: config.instance.clone(),
            };
            (grant, config)
        })
        .collect();
    let mut instances: Vec<ConsoleGrant> = match signed.account.role {
        ConsoleRole::Admin => ProviderKind::ALL
            .iter()
            .map(|kind| ConsoleGrant {
                provider: *kind,
                instance: String::new(),
            })
            .chain(stored.keys().cloned())
            .collect(),
        ConsoleRole::Staff => signed.account.grants.clone(),
    };
    instances.sort();
    instances.dedup();
    let rows: Vec<(ConsoleGrant, Source)> = instances
        .into_iter()
        .map(|grant| {
            let source = source(&api, &grant, stored.get(&grant));
            (grant, source)
        })
        .collect();
    let body = html! {
        (page::notice(notice_text(query.notice.as_deref())))
        p { "Each provider instance's configuration: where it comes from, and a page to set it and test it. Client secrets are stored encrypted and never shown again." }
        @if rows.is_empty() {
            p { "No provider instance is granted to your account yet. Ask a console admin." }
        } @else {
            div.table { table {
                thead { tr { th scope="col" { "Provider instance" } th scope="col" { "Configuration" } } }
                tbody { @for (grant, source) in &rows { tr {
                    td { a href=(path_of(grant)) { (label(grant)) } br; small { code { (grant) } } }
                    td { (source.describe()) }
                } } }
            } }
        }
        @if signed.account.role == ConsoleRole::Admin {
            h2 { "Add an OpenEMR site" }
            p { "Each clinic's OpenEMR installation is its own provider instance. Name it (this name appears in grants, e.g. " code { "openemr:clinic-a" } "), then discover, register or enter credentials on its page." }
            form.stack method="get" action="/console/providers/new-site" {
                label for="site-instance" { "Instance name" small { "Letters, digits, '.', '_' or '-' (up to 64)" } }
                input id="site-instance" name="instance" type="text" required maxlength="64" pattern="[A-Za-z0-9._\\-]+";
                button type="submit" { "Open its page" }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page("Providers", &signed, Nav::Providers, body),
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct NewSiteQuery {
    instance: String,
}

/// The "add an OpenEMR site" form: to the new instance's page (nothing is stored yet).
pub(crate) async fn new_site(
    signed: Signed,
    query: web::Query<NewSiteQuery>,
) -> Result<HttpResponse, ConsoleError> {
    signed.require_admin()?;
    match ConsoleGrant::parse(&format!("openemr:{}", query.instance.trim())) {
        Ok(grant) if !grant.instance.is_empty() => Ok(see_other(&path_of(&grant))),
        _ => Err(ConsoleError::BadForm(
            "An instance name has 1 to 64 letters, digits, '.', '_' or '-'.".to_owned(),
        )),
    }
}

pub(crate) fn label(grant: &ConsoleGrant) -> String {
    if grant.instance.is_empty() {
        grant.provider.display_name().to_owned()
    } else {
        format!("{} — {}", grant.provider.display_name(), grant.instance)
    }
}

/// What the configuration form shows: the stored values, or what was just posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ConfigForm {
    pub csrf: String,
    pub client_id: String,
    pub client_secret: String,
    pub site_url: String,
    pub options: String,
    pub endpoints: String,
    pub enabled: Option<String>,
}

impl ConfigForm {
    fn from_stored(config: Option<&ProviderConfig>) -> Self {
        let Some(config) = config else {
            return Self {
                enabled: Some("on".to_owned()),
                ..Self::default()
            };
        };
        Self {
            client_id: config.client_id.clone(),
            site_url: config.site_url.clone().unwrap_or_default(),
            options: lines(&config.options),
            endpoints: lines(&config.endpoint_overrides),
            enabled: config.enabled.then(|| "on".to_owned()),
            ..Self::default()
        }
    }
}

fn lines(map: &BTreeMap<String, String>) -> String {
    map.iter().map(|(k, v)| format!("{k} = {v}\n")).collect()
}

/// `name = value` lines (blank lines ignored).
fn parse_lines(what: &str, text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(format!(
                "{what}, line {}: write `name = value` (no `=` found).",
                n + 1
            ));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || value.is_empty() {
            return Err(format!(
                "{what}, line {}: both a name and a value are needed.",
                n + 1
            ));
        }
        map.insert(name.to_owned(), value.to_owned());
    }
    Ok(map)
}

/// What the configuration form shows.
pub(crate) enum Shown {
    /// The stored configuration (an empty form when none is).
    Stored,
    /// The stored configuration with this site address (and site name) filled in.
    Site { url: String, name: Option<String> },
    /// What was just posted — the secret cleared: it is never shown again.
    Posted(ConfigForm),
}

/// The instance page, with a notice, an error or a result block above the form.
pub(crate) async fn instance_page(
    signed: &Signed,
    api: &ApiState,
    grant: &ConsoleGrant,
    shown: Shown,
    top: Markup,
) -> Result<Markup, ConsoleError> {
    let (source, stored) = source_of(api, grant).await?;
    let form = match shown {
        Shown::Stored => ConfigForm::from_stored(stored.as_ref()),
        Shown::Site { url, name } => {
            let mut form = ConfigForm::from_stored(stored.as_ref());
            form.site_url = url;
            if let Some(name) = name {
                form.options = format!("site = {name}\n");
            }
            form
        }
        Shown::Posted(mut form) => {
            form.client_secret.clear();
            form
        }
    };
    let openemr = grant.provider == ProviderKind::Openemr;
    let action = path_of(grant);
    let secret_hint = match stored.as_ref().map(|c| c.client_secret.is_some()) {
        Some(true) => "A secret is stored. Leave empty to keep it; it is never shown again.",
        _ => "Not stored yet. It is kept encrypted and never shown again.",
    };
    Ok(page(
        &label(grant),
        signed,
        Nav::Providers,
        html! {
            (top)
            p { "Configuration: " strong { (source.describe()) } "." }
            @if source == Source::File {
                p { "A configuration saved here takes precedence over the file and environment." }
            }
            @if openemr {
                (super::openemr_sites::discover_form(signed, grant, &form.site_url))
            }
            h2 { "Credentials and settings" }
            form.stack method="post" action=(action) {
                (csrf_field(signed))
                label for="client-id" { "Client id" }
                input id="client-id" name="client_id" type="text" required maxlength="512" value=(form.client_id) autocomplete="off";
                label for="client-secret" { "Client secret" small { (secret_hint) } }
                input id="client-secret" name="client_secret" type="password" autocomplete="new-password" maxlength="4096";
                @if openemr {
                    label for="site-url" { "Site address" small { "The OpenEMR installation's https address, e.g. https://emr.clinic-a.example" } }
                    input id="site-url" name="site_url" type="url" required value=(form.site_url);
                }
                label for="options" { "Options" small { "One `name = value` a line (see the provider's documentation): e.g. tenant, site, scope_syntax" } }
                textarea id="options" name="options" rows="3" { (form.options) }
                label for="endpoints" { "Endpoint overrides" small { "One `name = url` a line; empty for the provider's own endpoints" } }
                textarea id="endpoints" name="endpoints" rows="3" { (form.endpoints) }
                label.check for="enabled" {
                    input id="enabled" name="enabled" type="checkbox" checked[form.enabled.is_some()];
                    " Enabled"
                }
                button type="submit" { "Save" }
            }
            h2 { "Test the connection" }
            p { "Checks what can be checked without a user: the endpoints answer and accept the client credentials (OpenEMR: the SMART configuration and the token endpoint)." }
            form.stack method="post" action={ (action) "/test" } {
                (csrf_field(signed))
                button type="submit" { "Test the connection" }
            }
            @if stored.is_some() {
                h2 { "Remove the stored configuration" }
                p { "The file or environment configuration (or the sandbox) applies again; connected accounts of this instance stop working until it is configured again." }
                form.stack method="post" action={ (action) "/remove" } {
                    (csrf_field(signed))
                    button.danger type="submit" { "Remove the stored configuration" }
                }
            }
        },
    ))
}

pub(crate) async fn show(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let grant = granted(&signed, &path)?;
    let top = page::notice(notice_text(query.notice.as_deref()));
    Ok(respond(
        StatusCode::OK,
        instance_page(&signed, &api, &grant, Shown::Stored, top).await?,
    ))
}

pub(crate) async fn save(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    form: web::Form<ConfigForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    let grant = granted(&signed, &path)?;
    let parsed = parse_lines("Options", &form.options).and_then(|options| {
        parse_lines("Endpoint overrides", &form.endpoints).map(|e| (options, e))
    });
    let problem = match parsed {
        Err(why) => why,
        Ok((options, endpoints)) => {
            let secret = form.client_secret.trim();
            let input = ProviderConfigInput {
                provider: grant.provider,
                instance: grant.instance.clone(),
                client_id: form.client_id.trim().to_owned(),
                client_secret: (!secret.is_empty()).then(|| ClientSecret::new(secret.to_owned())),
                redirect_base: None,
                endpoint_overrides: endpoints,
                site_url: (grant.provider == ProviderKind::Openemr)
                    .then(|| form.site_url.trim().to_owned())
                    .filter(|s| !s.is_empty()),
                options,
                enabled: form.enabled.is_some(),
            };
            match api
                .save_provider_config(Actor::Console(signed.account.id), input)
                .await
            {
                Ok(_) => {
                    return Ok(see_other(&format!(
                        "{}?notice=provider-saved",
                        path_of(&grant)
                    )));
                }
                Err(e) if e.status == StatusCode::BAD_REQUEST => e.message,
                Err(e) => return Err(e.into()),
            }
        }
    };
    // Shown again with what was typed — but never the secret.
    let top = page::error(Some(&format!("Not saved: {problem}")));
    Ok(respond(
        StatusCode::BAD_REQUEST,
        instance_page(&signed, &api, &grant, Shown::Posted(form.into_inner()), top).await?,
    ))
}

pub(crate) async fn remove(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    let grant = granted(&signed, &path)?;
    let removed = api
        .delete_provider_config(
            Actor::Console(signed.account.id),
            grant.provider,
            &grant.instance,
        )
        .await?;
    let notice = if removed {
        "provider-removed"
    } else {
        "provider-nothing-stored"
    };
    Ok(see_other(&format!("{}?notice={notice}", path_of(&grant))))
}

pub(crate) async fn test(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    let grant = granted(&signed, &path)?;
    let test = api
        .test_provider_config(
            Actor::Console(signed.account.id),
            grant.provider,
            &grant.instance,
        )
        .await?;
    let top = html! {
        section.result aria-labelledby="test-result" {
            h2 id="test-result" { "Connection test" }
            @if test.ok {
                p.notice role="status" { "The connection works. " (test.detail) "." }
            } @else {
                p.error role="alert" { "The connection test failed: " (test.detail) "." }
                h3 { "What to do" }
                ul { @for step in advice(grant.provider, &test.detail) { li { (step) } } }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        instance_page(&signed, &api, &grant, Shown::Stored, top).await?,
    ))
}

/// What to check after a failed test, from what failed.
pub(crate) fn advice(kind: ProviderKind, detail: &str) -> Vec<&'static str> {
    let detail = detail.to_ascii_lowercase();
    let mut steps = Vec::new();
    if detail.contains("not configured") {
        steps.push("Save a configuration above first (client id, secret and, for OpenEMR, the site address).");
    }
    if detail.contains("refused the configuration")
        || detail.contains("invalid_client")
        || detail.contains("unauthorized_client")
    {
        steps.push("The provider refused the client credentials: check the client id and enter the secret again.");
        if kind == ProviderKind::Openemr {
            steps.push("In OpenEMR a newly registered client must be enabled by an administrator: Administration → System → API Clients → the client → Enable.");
        }
    }
    if detail.contains("another server") {
        steps.push("The site's SMART configuration names another server: check that the Site Address in OpenEMR (Administration → Globals → Connectors) matches the site address saved here.");
    }
    if detail.contains("https") || detail.contains("not a valid url") {
        steps.push("Use the site's https address (plain http is only accepted for localhost).");
    }
    if detail.contains("could not be checked")
        || detail.contains("network")
        || detail.contains("connect")
        || detail.contains("timed out")
        || detail.contains("dns")
        || detail.contains("unavailable")
    {
        steps.push("Tether could not reach the provider: check the address, that the site is up and reachable from Tether's network (firewall, DNS), and its TLS certificate.");
    }
    if steps.is_empty() {
        steps.push("Check the configuration against the provider's documentation (docs/providers/), then test again; the audit log keeps each test's result.");
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_lines_are_read_and_bad_lines_named() {
        let map = parse_lines("Options", "tenant = common\n\n site=clinic_a \n").unwrap();
        assert_eq!(map.get("tenant").map(String::as_str), Some("common"));
        assert_eq!(map.get("site").map(String::as_str), Some("clinic_a"));
        let why = parse_lines("Options", "tenant common").unwrap_err();
        assert!(why.contains("line 1"), "{why}");
        assert!(parse_lines("Options", "tenant =").is_err());
    }

    #[test]
    fn a_refused_openemr_client_is_told_to_be_enabled() {
        let steps = advice(
            ProviderKind::Openemr,
            "the token endpoint refused the configuration: invalid_client",
        );
        assert!(steps.iter().any(|s| s.contains("API Clients")), "{steps:?}");
        let steps = advice(
            ProviderKind::Notion,
            "the token endpoint could not be checked: network error",
        );
        assert!(
            steps.iter().any(|s| s.contains("could not reach")),
            "{steps:?}"
        );
        assert!(!steps.iter().any(|s| s.contains("API Clients")));
    }
}
