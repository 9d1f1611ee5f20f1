//! `tether openemr register`: register Tether as a confidential client at an OpenEMR site,
//! print the client id and — once — the client secret, and say what the OpenEMR administrator
//! and the Tether operator must do next. Needs no configuration or database.

use std::time::Duration;

use tether_provider_openemr::{Registration, RegistrationRequest, register};

use super::print;
use crate::cli::OpenemrCommand;
use crate::error::{ServerError, ServerResult};

pub async fn run(command: OpenemrCommand) -> ServerResult<()> {
    match command {
        OpenemrCommand::Register {
            site,
            redirect_uri,
            name,
            contacts,
            scopes,
            site_name,
        } => {
            let mut request = RegistrationRequest::new(name, redirect_uri);
            request.contacts = contacts;
            request.scopes = scopes;
            request.site_name = site_name;
            let registration = register(&http_client()?, &site, &request)
                .await
                .map_err(|e| ServerError::Usage(format!("OpenEMR registration failed: {e}")))?;
            print(report(&registration))
        }
    }
}

/// Like the server's provider client: timeouts, no redirect following, rustls.
fn http_client() -> ServerResult<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tether/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ServerError::Usage(format!("cannot build an HTTP client: {e}")))
}

fn report(registration: &Registration) -> Vec<String> {
    let source = if registration.discovered {
        "from the site's SMART configuration"
    } else {
        "the documented path"
    };
    let mut lines = vec![
        format!(
            "Registered with the OpenEMR site {} (site name `{}`).",
            registration.site_url, registration.site_name
        ),
        format!(
            "registration endpoint  {} ({source})",
            registration.registration_endpoint
        ),
        format!("FHIR base              {}", registration.fhir_base),
        format!("scopes                 {}", registration.scope),
        String::new(),
        format!("client_id      {}", registration.client_id),
        format!(
            "client_secret  {}",
            registration.client_secret.expose_secret()
        ),
        String::new(),
        "WARNING: this is the only time the client secret is shown — OpenEMR cannot show it again."
            .to_owned(),
        "Store it now in your secret store (not in e-mail or chat). If it is lost, register again."
            .to_owned(),
        String::new(),
        "Next steps:".to_owned(),
    ];
    lines.extend(
        registration
            .next_steps
            .iter()
            .enumerate()
            .map(|(i, step)| format!("  {}. {step}", i + 1)),
    );
    lines
}
