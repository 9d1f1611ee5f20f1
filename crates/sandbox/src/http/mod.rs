//! The sandbox's HTTP routes and [`configure`], which mounts them into any actix-web app.

mod admin;
mod authorize;
mod authorize_request;
mod bearer;
mod client_auth;
mod metadata;
mod pages;
mod params;
mod resource;
mod revoke;
mod token;

use actix_web::web;

use crate::state::SandboxState;

/// Registers every sandbox route on `cfg`, relative to wherever `cfg` is mounted.
///
/// `state`'s issuer must be the public URL of that mount point: to serve the sandbox under
/// `/sandbox` of a server on `http://127.0.0.1:8080`, build the state with issuer
/// `http://127.0.0.1:8080/sandbox` and call
/// `App::new().service(web::scope("/sandbox").configure(|c| configure(c, state)))`.
/// (RFC 8414 would place the metadata of such an issuer at
/// `/.well-known/oauth-authorization-server/sandbox`; the host may add that alias.)
pub fn configure(cfg: &mut web::ServiceConfig, state: SandboxState) {
    let admin = state.config().admin_endpoints;
    cfg.app_data(web::Data::new(state))
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(metadata::metadata),
        )
        .service(
            web::resource("/oauth/authorize")
                .route(web::get().to(authorize::show))
                .route(web::post().to(authorize::submit)),
        )
        .route("/oauth/token", web::post().to(token::token))
        .route("/oauth/revoke", web::post().to(revoke::revoke))
        .route("/oauth/userinfo", web::get().to(resource::userinfo))
        .route("/api/me", web::get().to(resource::me))
        .route("/api/items", web::get().to(resource::items));
    if admin {
        cfg.service(web::scope("/_sandbox").configure(admin::configure));
    }
}
