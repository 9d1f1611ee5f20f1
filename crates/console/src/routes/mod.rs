//! The console's routes, one file per page, plus what they share: the client's address and
//! user agent for audit records, and the notices a redirect may name.

mod account_pages;
mod accounts;
mod api_keys;
mod audit;
mod audit_csv;
mod integration_page;
mod integrations;
mod openemr_sites;
mod overview;
mod providers;
mod sign_in;
mod webhook_pages;
mod webhooks;

use std::net::IpAddr;

use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};
use tether_core::audit::{Actor, AuditAction, AuditEvent};

use crate::{ConsoleError, ConsoleState, STYLE_MAX_AGE};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(overview::show))
        .route("/", web::get().to(overview::show))
        .route("/style.css", web::get().to(style))
        .route("/sign-in", web::get().to(sign_in::form))
        .route("/sign-in", web::post().to(sign_in::submit))
        .route("/sign-out", web::post().to(sign_in::sign_out))
        .route(
            "/sign-out-everywhere",
            web::post().to(sign_in::sign_out_everywhere),
        )
        .route("/api-keys", web::get().to(api_keys::list))
        .route("/api-keys", web::post().to(api_keys::create))
        .route("/api-keys/{id}/revoke", web::post().to(api_keys::revoke))
        .route("/integrations", web::get().to(integrations::search))
        .route("/integrations/{id}", web::get().to(integrations::show))
        .route(
            "/integrations/{id}/refresh",
            web::post().to(integrations::refresh),
        )
        .route(
            "/integrations/{id}/test",
            web::post().to(integrations::test),
        )
        .route(
            "/integrations/{id}/disconnect",
            web::get().to(integrations::confirm_disconnect),
        )
        .route(
            "/integrations/{id}/disconnect",
            web::post().to(integrations::disconnect),
        )
        .route("/providers", web::get().to(providers::list))
        .route("/providers/new-site", web::get().to(providers::new_site))
        .route("/providers/{instance}", web::get().to(providers::show))
        .route("/providers/{instance}", web::post().to(providers::save))
        .route(
            "/providers/{instance}/test",
            web::post().to(providers::test),
        )
        .route(
            "/providers/{instance}/remove",
            web::post().to(providers::remove),
        )
        .route(
            "/providers/{instance}/discover",
            web::post().to(openemr_sites::discover),
        )
        .route(
            "/providers/{instance}/register",
            web::post().to(openemr_sites::register),
        )
        .route("/accounts", web::get().to(accounts::list))
        .route("/accounts", web::post().to(accounts::create))
        .route("/accounts/{id}", web::get().to(accounts::show))
        .route("/accounts/{id}/disable", web::post().to(accounts::disable))
        .route("/accounts/{id}/enable", web::post().to(accounts::enable))
        .route(
            "/accounts/{id}/password",
            web::post().to(accounts::reset_password),
        )
        .route(
            "/accounts/{id}/grants",
            web::post().to(accounts::set_grants),
        )
        .route("/audit", web::get().to(audit::show))
        .route("/audit.csv", web::get().to(audit_csv::export))
        .route("/webhooks", web::get().to(webhooks::list))
        .route("/webhooks", web::post().to(webhooks::create))
        .route("/webhooks/{id}", web::get().to(webhooks::show))
        .route("/webhooks/{id}/disable", web::post().to(webhooks::disable))
        .route("/webhooks/{id}/enable", web::post().to(webhooks::enable))
        .route(
            "/webhooks/{id}/rotate-secret",
            web::post().to(webhooks::rotate_secret),
        )
        .route("/webhooks/{id}/test", web::post().to(webhooks::test))
        .route(
            "/webhooks/{id}/deliveries/{event_id}/redeliver",
            web::post().to(webhooks::redeliver),
        );
}

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={}", STYLE_MAX_AGE.as_secs()),
        ))
        .body(include_str!("../../assets/console.css"))
}

/// Unknown console paths: a page, not the API's JSON.
pub(crate) async fn not_found(req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    if req.method() != Method::GET && req.method() != Method::POST {
        return Ok(HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "GET, POST"))
            .finish());
    }
    Err(ConsoleError::NotFound)
}

/// The client's address (behind trusted proxies, the forwarded one).
pub(crate) fn client_ip(req: &HttpRequest, state: &ConsoleState) -> IpAddr {
    let peer = req.peer_addr().map(|a| a.ip());
    state
        .settings
        .trusted_proxies
        .client_ip(peer, req.headers())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// An audit record of a console request, with the client's address and user agent.
pub(crate) fn event(
    req: &HttpRequest,
    state: &ConsoleState,
    actor: Actor,
    action: AuditAction,
) -> AuditEvent {
    let mut event = AuditEvent::new(actor, action);
    event.ip_address = Some(client_ip(req, state).to_string());
    event.user_agent = user_agent(req);
    event
}

/// The notice a redirect names (`?notice=…`): a closed list, never text from the request.
pub(crate) fn notice_text(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "key-revoked" => "The API key was revoked.",
        "account-created" => "The account was created.",
        "account-disabled" => "The account was disabled and signed out everywhere.",
        "account-enabled" => "The account was enabled.",
        "password-reset" => "The password was changed and the account signed out everywhere.",
        "grants-saved" => "The grants were saved.",
        "integration-refreshed" => "The integration was refreshed: new tokens are stored.",
        "disconnected-revoked" => {
            "Disconnected: the provider confirmed the revocation and the tokens are deleted."
        }
        "disconnected-not-supported" => {
            "Disconnected: the tokens are deleted. The provider offers no revocation, so the user should also remove Tether in their account settings there."
        }
        "disconnected-nothing" => "Disconnected: there were no tokens left to revoke.",
        "disconnected-failed" => {
            "Disconnected here, but the provider could not be reached to revoke: the tokens are deleted; the grant may stay at the provider until the user removes it."
        }
        "provider-saved" => "The configuration was saved and applied.",
        "provider-removed" => "The stored configuration was removed.",
        "provider-nothing-stored" => "Nothing was stored for this provider instance.",
        "signed-out-everywhere" => {
            "You are signed out everywhere: every session of your account ended."
        }
        "signed-out" => "You are signed out.",
        "webhook-disabled" => "The webhook endpoint was disabled: it receives no events.",
        "webhook-enabled" => {
            "The webhook endpoint was enabled. Events it missed meanwhile can be redelivered."
        }
        "redelivery-queued" => "The event is queued to be delivered again.",
        _ => return None,
    })
}

/// A form that carries nothing but its CSRF token (a button: revoke, refresh, sign out, …).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct CsrfForm {
    pub csrf: String,
}

/// What the broker records of a console request's client: its address and user agent.
pub(crate) fn client_info(req: &HttpRequest, state: &ConsoleState) -> tether_broker::ClientInfo {
    tether_broker::ClientInfo {
        ip: Some(client_ip(req, state).to_string()),
        user_agent: user_agent(req),
    }
}

fn user_agent(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(512).collect())
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct NoticeQuery {
    pub notice: Option<String>,
}
