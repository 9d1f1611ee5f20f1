//! `tether openemr register`: register Tether as a confidential client at an OpenEMR site,
//! print the client id and — once — the client secret, and say what the OpenEMR administrator
//! and the Tether operator must do next. Needs no configuration or database; when Tether's
//! database is configured and reachable, the registration is recorded in its audit trail.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use tether_core::audit::AuditAction;

use tether_provider_openemr::{Registration, RegistrationRequest, register};

use super::{audit, command_event, print};
use crate::cli::OpenemrCommand;
use crate::config::{Config, Database};
use crate::database;
use crate::error::{ServerError, ServerResult};

pub async fn run(file: Option<&Path>, command: OpenemrCommand) -> ServerResult<()> {
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
            // The secret is printed first: OpenEMR shows it once, so a failed audit write
            // must not lose it.
            print(report(&registration))?;
            if let Err(why) = record(file, &registration).await {
                eprintln!(
                    "note: this registration is not in Tether's audit trail ({why}); record it \
                     in your change log"
                );
            }
            Ok(())
        }
    }
}

/// Records the registration (never its secret) in the configured database's audit trail.
async fn record(file: Option<&Path>, registration: &Registration) -> ServerResult<()> {
    let config = Config::load_without_keys(file)?;
    // Never create an embedded database as a side effect of registering.
    if let Database::Embedded { path } = &config.database
        && !path.exists()
    {
        return Err(ServerError::Usage(format!(
            "no Tether database at {}",
            path.display()
        )));
    }
    let conn = database::open(&config).await?;
    let event = command_event(
        AuditAction::ProviderRegistered,
        "openemr register",
        json!({
            "provider": "openemr",
            "site_url": registration.site_url,
            "site_name": registration.site_name,
            "client_id": registration.client_id,
        }),
    );
    let result = audit(&conn, event).await;
    let _ = conn.close().await;
    result
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
