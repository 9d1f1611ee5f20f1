//! `GET /.well-known/oauth-authorization-server`: RFC 8414 metadata.

use std::collections::BTreeSet;

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde_json::json;

use crate::config::DEMO_SCOPES;
use crate::controls::GrantType;
use crate::state::SandboxState;

pub(crate) async fn metadata(state: Data<SandboxState>) -> HttpResponse {
    let mut scopes: BTreeSet<&str> = DEMO_SCOPES.into_iter().collect();
    for client in &state.config().clients {
        scopes.extend(client.allowed_scopes.iter().map(String::as_str));
    }
    let grant_types: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    HttpResponse::Ok().json(json!({
        "issuer": state.issuer(),
        "authorization_endpoint": state.url("/oauth/authorize"),
        "token_endpoint": state.url("/oauth/token"),
        "revocation_endpoint": state.url("/oauth/revoke"),
        "userinfo_endpoint": state.url("/oauth/userinfo"),
        "response_types_supported": ["code"],
        "grant_types_supported": grant_types,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "scopes_supported": scopes,
        "authorization_response_iss_parameter_supported": true,
    }))
}
