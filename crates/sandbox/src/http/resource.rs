//! The protected resources: `GET /oauth/userinfo`, `GET /api/me`, `GET /api/items`.

use actix_web::HttpResponse;
use actix_web::http::header;
use serde_json::{Value, json};

use super::bearer::{Bearer, BearerError};
use crate::crypto::subject_for;

/// Scope `GET /api/items` requires.
const ITEMS_SCOPE: &str = "items.read";

/// OIDC-style user info with a stable `sub` per username.
pub(crate) async fn userinfo(bearer: Bearer) -> Result<HttpResponse, BearerError> {
    let username = bearer
        .0
        .username
        .as_deref()
        .ok_or(BearerError::InsufficientScope(
            "client-credentials tokens carry no user",
        ))?;
    Ok(no_store(json!({
        "sub": subject_for(username),
        "preferred_username": username,
        "name": display_name(username),
        "email": email(username),
        "email_verified": true,
    })))
}

/// Who the token belongs to and what it may do.
pub(crate) async fn me(bearer: Bearer) -> HttpResponse {
    let info = &bearer.0;
    no_store(json!({
        "sub": info.username.as_deref().map(subject_for),
        "username": info.username,
        "client_id": info.client_id,
        "scope": info.scopes.to_string(),
        "expires_in": info.expires_in.as_secs(),
    }))
}

/// A small fixed list per user; needs the `items.read` scope.
pub(crate) async fn items(bearer: Bearer) -> Result<HttpResponse, BearerError> {
    bearer.require_scope(ITEMS_SCOPE)?;
    let owner = bearer.0.username.as_deref().unwrap_or(&bearer.0.client_id);
    let items: Vec<Value> = [
        "Welcome to the Tether sandbox",
        "Connect a real provider",
        "Try a refresh",
    ]
    .iter()
    .enumerate()
    .map(|(i, title)| json!({ "id": i + 1, "title": title, "owner": owner }))
    .collect();
    Ok(no_store(json!({ "items": items })))
}

fn no_store(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

fn email(username: &str) -> String {
    if username.contains('@') {
        username.to_owned()
    } else {
        format!("{username}@sandbox.example")
    }
}

fn display_name(username: &str) -> String {
    let local = username.split('@').next().unwrap_or(username);
    let mut chars = local.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
