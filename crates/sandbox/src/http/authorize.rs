//! `GET /oauth/authorize` shows the consent page; `POST /oauth/authorize` records the decision
//! and redirects back with a code (or an error), `state` and `iss` (RFC 9207).

use actix_web::http::{StatusCode, header};
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use url::Url;

use super::authorize_request::{AuthorizeRequest, Rejection, ScopeSource, validate};
use super::pages;
use super::params::Params;
use crate::oauth_error::{ErrorCode, OAuthError};
use crate::scope::Scopes;
use crate::state::SandboxState;
use crate::store::NewCode;

const DEFAULT_USERNAME: &str = "demo";

/// Shows the login + consent page for a valid request.
pub(crate) async fn show(state: Data<SandboxState>, req: HttpRequest) -> HttpResponse {
    let params = Params::parse(req.query_string().as_bytes());
    match validate(&state, &params, ScopeSource::Query) {
        Ok(request) => pages::html(
            StatusCode::OK,
            pages::consent(&request, DEFAULT_USERNAME, None),
        ),
        Err(rejection) => reject(&state, rejection),
    }
}

/// Takes the consent form: the original parameters plus `username`, the granted `scope`
/// entries and `decision=allow|deny`.
pub(crate) async fn submit(state: Data<SandboxState>, body: Bytes) -> HttpResponse {
    let params = Params::parse(&body);
    let request = match validate(&state, &params, ScopeSource::ConsentForm) {
        Ok(request) => request,
        Err(rejection) => return reject(&state, rejection),
    };
    let back = |error: OAuthError| reject(&state, rejection_for(&request, error));
    match params.one("decision") {
        Ok(Some("allow")) => {}
        Ok(Some("deny")) => {
            return back(OAuthError::new(
                ErrorCode::AccessDenied,
                "the user denied the request",
            ));
        }
        _ => {
            return pages::html(
                StatusCode::BAD_REQUEST,
                pages::error("decision must be allow or deny"),
            );
        }
    }
    let granted = match Scopes::parse(params.all("scope")) {
        Ok(granted) if granted.is_subset(&request.scopes) => granted,
        _ => {
            return back(OAuthError::invalid_scope(
                "granted scopes must be a subset of the requested ones",
            ));
        }
    };
    if granted.is_empty() {
        return back(OAuthError::new(
            ErrorCode::AccessDenied,
            "the user granted no scope",
        ));
    }
    let username = match normalize_username(params.one("username").ok().flatten()) {
        Ok(username) => username,
        Err(problem) => {
            let typed = params.one("username").ok().flatten().unwrap_or_default();
            return pages::html(
                StatusCode::BAD_REQUEST,
                pages::consent(&request, typed, Some(problem)),
            );
        }
    };
    tracing::info!(client_id = %request.client_id, scope = %granted, "authorization code issued");
    let code = state.store().issue_code(
        NewCode {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            scopes: granted,
            username,
        },
        state.config().code_ttl,
    );
    let mut pairs = vec![("code", code.as_str())];
    pairs.extend(request.state.as_deref().map(|s| ("state", s)));
    redirect(&state, &request.redirect_uri, &pairs)
}

fn rejection_for(request: &AuthorizeRequest, error: OAuthError) -> Rejection {
    Rejection::Redirect {
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        error,
    }
}

fn reject(state: &SandboxState, rejection: Rejection) -> HttpResponse {
    match rejection {
        Rejection::Page(message) => pages::html(StatusCode::BAD_REQUEST, pages::error(&message)),
        Rejection::Redirect {
            redirect_uri,
            state: client_state,
            error,
        } => {
            let mut pairs = vec![
                ("error", error.code.as_str()),
                ("error_description", &error.description),
            ];
            pairs.extend(client_state.as_deref().map(|s| ("state", s)));
            redirect(state, &redirect_uri, &pairs)
        }
    }
}

/// 302 to a registered redirect URI with `pairs` and `iss` appended to its query.
fn redirect(state: &SandboxState, redirect_uri: &str, pairs: &[(&str, &str)]) -> HttpResponse {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        // Config validation parses every redirect URI, so this is unreachable in practice.
        return pages::html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::error("the redirect URI is unusable"),
        );
    };
    url.query_pairs_mut()
        .extend_pairs(pairs)
        .append_pair("iss", state.issuer());
    HttpResponse::Found()
        .insert_header((header::LOCATION, url.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .finish()
}

/// Usernames are case-insensitive (stored lower-case), 1–64 characters of `A-Z a-z 0-9 . _ - @ +`.
fn normalize_username(raw: Option<&str>) -> Result<String, &'static str> {
    let name = raw.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Err("Enter a username (any name works).");
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+');
    if name.len() > 64 || !name.chars().all(allowed) {
        return Err("Usernames are up to 64 letters, digits and . _ - @ +");
    }
    Ok(name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_lowercased_and_restricted() {
        assert_eq!(normalize_username(Some("  Alice ")), Ok("alice".to_owned()));
        assert!(normalize_username(Some("")).is_err());
        assert!(normalize_username(None).is_err());
        assert!(normalize_username(Some("a<b")).is_err());
        assert!(normalize_username(Some(&"a".repeat(65))).is_err());
    }
}
