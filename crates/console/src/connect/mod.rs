//! The hosted connect page at `/connect`, for a product's end users (no console account: the
//! link's token is the credential): the provider picker (`picker.rs`), the result page and
//! its small script (`result.rs`). Same stylesheet as the console, a strict CSP that allows
//! only our own stylesheet and script, no caching, and no `Referer` (the URL holds the token).

mod picker;
mod result;

use actix_web::http::{StatusCode, header};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{DOCTYPE, Markup, html};
use tether_broker::{BrokerError, ClientInfo};

/// Nothing but our stylesheet and script; forms post to ourselves, and the picker's answer
/// is a redirect to the provider's consent page, which browsers check against `form-action`
/// too (hence `https:`). Never framed.
pub const CONNECT_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; form-action 'self' https:; frame-ancestors 'none'; \
     base-uri 'none'";

/// Mounts `/connect` (the picker, the result page and its script).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/connect")
            .app_data(
                web::FormConfig::default()
                    .limit(8 * 1024)
                    .error_handler(|e, _| bad_request_error(&e.to_string())),
            )
            .app_data(
                web::QueryConfig::default().error_handler(|e, _| bad_request_error(&e.to_string())),
            )
            .route("", web::get().to(picker::show))
            .route("", web::post().to(picker::choose))
            .route("/result", web::get().to(result::show))
            .route("/result.js", web::get().to(result::script))
            .default_service(web::to(not_found))
            .wrap(
                DefaultHeaders::new()
                    .add((
                        header::CONTENT_SECURITY_POLICY,
                        CONNECT_CONTENT_SECURITY_POLICY,
                    ))
                    .add((header::CACHE_CONTROL, "no-store"))
                    .add((header::REFERRER_POLICY, "no-referrer")),
            ),
    );
}

/// The page frame: the console's stylesheet, no navigation (end users are not operators).
pub(crate) fn frame(title: &str, head_extra: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Tether" }
                link rel="stylesheet" href="/console/style.css";
                (head_extra)
            }
            body {
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

pub(crate) fn respond(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// A page saying why the link cannot be used, with the right status.
pub(crate) fn refusal(error: BrokerError) -> HttpResponse {
    let (status, title, text) = match &error {
        BrokerError::ConnectSessionUnknown => (
            StatusCode::NOT_FOUND,
            "Link not found",
            "This connect link is unknown. Go back to the app and start connecting again."
                .to_owned(),
        ),
        BrokerError::ConnectSessionUsed => (
            StatusCode::GONE,
            "Link already used",
            "This connect link was already used; each link works once. Go back to the app and \
             start connecting again."
                .to_owned(),
        ),
        BrokerError::ConnectSessionExpired => (
            StatusCode::GONE,
            "Link expired",
            "This connect link expired. Go back to the app and start connecting again.".to_owned(),
        ),
        BrokerError::IntegrationNotFound => (
            StatusCode::NOT_FOUND,
            "Account not found",
            "The connected account this link was for no longer exists.".to_owned(),
        ),
        BrokerError::ProviderNotConfigured(kind) => (
            StatusCode::NOT_FOUND,
            "Not available",
            format!("{} is not available right now.", kind.display_name()),
        ),
        BrokerError::InvalidInput(message) => {
            (StatusCode::BAD_REQUEST, "Not possible", message.clone())
        }
        BrokerError::StateUnavailable(cause) => {
            tracing::warn!(error = %cause, "connect page: shared state unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again shortly",
                "Tether is briefly unavailable. Wait a moment and try again.".to_owned(),
            )
        }
        other => {
            tracing::error!(error = %other, "connect page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Connecting could not continue. Go back to the app and try again.".to_owned(),
            )
        }
    };
    respond(status, message_page(title, &text))
}

pub(crate) fn message_page(title: &str, text: &str) -> Markup {
    frame(title, html! {}, html! { p.error role="alert" { (text) } })
}

fn bad_request_error(why: &str) -> actix_web::Error {
    actix_web::error::InternalError::from_response(
        why.to_owned(),
        respond(
            StatusCode::BAD_REQUEST,
            message_page(
                "Link not understood",
                "This connect link or form is incomplete. Go back to the app and start \
                 connecting again.",
            ),
        ),
    )
    .into()
}

async fn not_found() -> HttpResponse {
    respond(
        StatusCode::NOT_FOUND,
        message_page("Not found", "There is no such page."),
    )
}

/// The client's address and user agent, for the flow's audit records.
pub(crate) fn client_info(req: &HttpRequest, state: &tether_api::ApiState) -> ClientInfo {
    let peer = req.peer_addr().map(|a| a.ip());
    ClientInfo {
        ip: state
            .config
            .trusted_proxies
            .client_ip(peer, req.headers())
            .map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(512).collect()),
    }
}
