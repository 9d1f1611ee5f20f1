//! OpenEMR sites on a provider instance's page: discover a site's SMART configuration by its
//! address, then register Tether with the site (dynamic registration: the credentials are
//! stored at once, the secret never shown) or enter credentials by hand.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use tether_api::{ApiState, SiteRegistrationRequest};
use tether_core::ProviderKind;
use tether_core::audit::Actor;
use tether_core::console::ConsoleGrant;
use tether_core::provider_config::ProviderConfigInput;

use super::providers::{Shown, granted, instance_page, path_of};
use crate::ConsoleError;
use crate::page::{self, Nav, csrf_field, page, respond};
use crate::session::Signed;

/// OpenEMR's site name for single-site installations.
const DEFAULT_SITE: &str = "default";

/// The "discover" form at the top of an OpenEMR instance's page.
pub(crate) fn discover_form(signed: &Signed, grant: &ConsoleGrant, site_url: &str) -> Markup {
    html! {
        h2 { "Find the site" }
        p { "Enter the clinic's OpenEMR address: Tether reads its SMART configuration and shows what it will use. Nothing is stored until you register or save credentials." }
        form.stack method="post" action={ (path_of(grant)) "/discover" } {
            (csrf_field(signed))
            label for="discover-url" { "Site address" small { "e.g. https://emr.clinic-a.example" } }
            input id="discover-url" name="site_url" type="url" required value=(site_url);
            label for="discover-site" { "Site name" small { "Only for multisite installations (default: default)" } }
            input id="discover-site" name="site_name" type="text" maxlength="64";
            button type="submit" { "Discover" }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DiscoverForm {
    csrf: String,
    site_url: String,
    site_name: String,
}

fn openemr_only(grant: &ConsoleGrant) -> Result<(), ConsoleError> {
    if grant.provider == ProviderKind::Openemr {
        Ok(())
    } else {
        Err(ConsoleError::NotFound)
    }
}

pub(crate) async fn discover(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    form: web::Form<DiscoverForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    let grant = granted(&signed, &path)?;
    openemr_only(&grant)?;
    let site_name = Some(form.site_name.trim()).filter(|s| !s.is_empty());
    let (status, top) = match api.providers.discover_site(&form.site_url, site_name).await {
        Ok(found) => (
            StatusCode::OK,
            html! {
                section.result aria-labelledby="discovery" {
                    h2 id="discovery" { "What Tether found" }
                    @if found.smart_configuration {
                        p.notice role="status" { "The site publishes a SMART configuration." }
                    } @else {
                        p.notice role="status" { "The site has no SMART configuration: Tether will use OpenEMR's documented endpoints." }
                    }
                    dl { @for (what, value) in &found.facts { dt { (what) } dd { (value) } } }
                    h3 { "Register Tether with the site" }
                    p { "Tether registers itself as a confidential client and stores the credentials encrypted. An OpenEMR administrator must then enable the client." }
                    form.stack method="post" action={ (path_of(&grant)) "/register" } {
                        (csrf_field(&signed))
                        input type="hidden" name="site_url" value=(form.site_url.trim());
                        input type="hidden" name="site_name" value=(form.site_name.trim());
                        label for="client-name" { "Client name" small { "Shown on OpenEMR's screens" } }
                        input id="client-name" name="client_name" type="text" required maxlength="200" value="Tether";
                        label for="contacts" { "Contact e-mail" small { "Who the clinic can ask about this client (optional)" } }
                        input id="contacts" name="contacts" type="email" maxlength="254";
                        button type="submit" { "Register Tether" }
                    }
                    p { "Already registered? Enter the client id and secret below." }
                }
            },
        ),
        Err(why) => (
            StatusCode::OK,
            html! {
                section.result aria-labelledby="discovery" {
                    h2 id="discovery" { "What Tether found" }
                    p.error role="alert" { "The site could not be discovered: " (why) "." }
                    h3 { "What to do" }
                    ul { @for step in super::providers::advice(ProviderKind::Openemr, &why) { li { (step) } } }
                }
            },
        ),
    };
    let shown = Shown::Site {
        url: form.site_url.trim().to_owned(),
        name: site_name.map(str::to_owned),
    };
    Ok(respond(
        status,
        instance_page(&signed, &api, &grant, shown, top).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RegisterForm {
    csrf: String,
    site_url: String,
    site_name: String,
    client_name: String,
    contacts: String,
}

pub(crate) async fn register(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    let grant = granted(&signed, &path)?;
    openemr_only(&grant)?;
    let actor = Actor::Console(signed.account.id);
    let client_name = form.client_name.trim();
    let outcome = if client_name.is_empty() || client_name.chars().count() > 200 {
        Err("give the client a name (1 to 200 characters).".to_owned())
    } else {
        let request = SiteRegistrationRequest {
            site_url: form.site_url.trim().to_owned(),
            site_name: Some(form.site_name.trim().to_owned()).filter(|s| !s.is_empty()),
            client_name: client_name.to_owned(),
            contacts: Some(form.contacts.trim().to_owned())
                .filter(|s| !s.is_empty())
                .into_iter()
                .collect(),
            redirect_uri: String::new(),
        };
        match api.register_openemr_site(actor.clone(), request).await {
            Ok(done) => Ok(done),
            Err(e) if e.status == StatusCode::BAD_REQUEST => Err(e.message),
            Err(e) => return Err(e.into()),
        }
    };
    let done = match outcome {
        Ok(done) => done,
        Err(why) => {
            let shown = Shown::Site {
                url: form.site_url.trim().to_owned(),
                name: None,
            };
            let top = page::error(Some(&format!("Not registered: {why}")));
            return Ok(respond(
                StatusCode::BAD_REQUEST,
                instance_page(&signed, &api, &grant, shown, top).await?,
            ));
        }
    };
    let mut options = BTreeMap::new();
    if done.site_name != DEFAULT_SITE {
        options.insert("site".to_owned(), done.site_name.clone());
    }
    let input = ProviderConfigInput {
        provider: ProviderKind::Openemr,
        instance: grant.instance.clone(),
        client_id: done.client_id.clone(),
        client_secret: Some(done.client_secret),
        redirect_base: None,
        endpoint_overrides: BTreeMap::new(),
        site_url: Some(done.site_url.clone()),
        options,
        enabled: true,
    };
    api.save_provider_config(actor, input).await?;
    Ok(respond(
        StatusCode::OK,
        page(
            "Tether is registered",
            &signed,
            Nav::Providers,
            html! {
                p.notice role="status" {
                    "Registered with " (done.site_url) " (site " code { (done.site_name) } ") as client " code { (done.client_id) } ". The credentials are stored encrypted; the secret is not shown."
                }
                p { "FHIR base: " (done.fhir_base) br; "Scopes: " (done.scope) }
                h2 { "Next steps" }
                ol { @for step in &done.next_steps { li { (step) } } }
                p { "When the client is enabled in OpenEMR, " a href=(path_of(&grant)) { "test the connection" } "." }
            },
        ),
    ))
}
