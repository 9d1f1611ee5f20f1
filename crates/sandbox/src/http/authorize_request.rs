//! Validation of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3), shared by the
//! consent page and its form POST. Client and redirect URI problems never redirect.

use super::params::Params;
use crate::config::ClientConfig;
use crate::crypto::is_valid_pkce_value;
use crate::oauth_error::{ErrorCode, OAuthError};
use crate::scope::Scopes;
use crate::state::SandboxState;

/// A valid authorization request.
#[derive(Debug)]
pub(crate) struct AuthorizeRequest {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) code_challenge: String,
    /// Accepted and echoed through the consent form; the sandbox issues no ID token.
    pub(crate) nonce: Option<String>,
    pub(crate) scopes: Scopes,
}

/// Why a request was refused, and how to tell the user agent.
#[derive(Debug)]
pub(crate) enum Rejection {
    /// Bad `client_id` or `redirect_uri`: show an error page, never redirect (§4.1.2.1).
    Page(String),
    /// Everything else goes back to the client's redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

/// Where the requested scopes come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ScopeSource {
    /// `scope` of the original GET.
    Query,
    /// The consent form: `requested_scope` if present, else the granted `scope` entries.
    ConsentForm,
}

pub(crate) fn validate(
    state: &SandboxState,
    params: &Params,
    source: ScopeSource,
) -> Result<AuthorizeRequest, Rejection> {
    let (client, redirect_uri) = client_and_redirect(state, params)?;
    let state_param = params.one("state").map(|s| s.map(str::to_owned));
    let echoed_state = state_param.as_ref().ok().cloned().flatten();
    let back = |error: OAuthError| Rejection::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: echoed_state.clone(),
        error,
    };
    let client_state = state_param.map_err(&back)?;
    match params.one("response_type").map_err(&back)? {
        Some("code") => {}
        Some(_) => {
            return Err(back(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            )));
        }
        None => {
            return Err(back(OAuthError::invalid_request(
                "parameter response_type is required",
            )));
        }
    }
    let code_challenge = params
        .one("code_challenge")
        .map_err(&back)?
        .filter(|c| is_valid_pkce_value(c))
        .ok_or_else(|| {
            back(OAuthError::invalid_request(
                "PKCE is required: send a valid S256 code_challenge",
            ))
        })?;
    if params.one("code_challenge_method").map_err(&back)? != Some("S256") {
        return Err(back(OAuthError::invalid_request(
            "code_challenge_method must be S256",
        )));
    }
    let nonce = params.one("nonce").map_err(&back)?.map(str::to_owned);
    let scopes = requested_scopes(params, source).map_err(&back)?;
    if scopes.is_empty() {
        return Err(back(OAuthError::invalid_scope(
            "parameter scope is required",
        )));
    }
    if let Some(denied) = scopes.iter().find(|s| !client.allows_scope(s)) {
        return Err(back(OAuthError::invalid_scope(format!(
            "scope {denied} is not allowed for this client"
        ))));
    }
    Ok(AuthorizeRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        state: client_state,
        code_challenge: code_challenge.to_owned(),
        nonce,
        scopes,
    })
}

fn client_and_redirect<'s>(
    state: &'s SandboxState,
    params: &Params,
) -> Result<(&'s ClientConfig, String), Rejection> {
    let page = |e: OAuthError| Rejection::Page(e.description.into_owned());
    let client_id = params.required("client_id").map_err(page)?;
    let client = state.client(client_id).ok_or_else(|| {
        Rejection::Page("this client_id is not registered with the sandbox".into())
    })?;
    let redirect_uri = params.required("redirect_uri").map_err(page)?;
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(Rejection::Page(
            "redirect_uri does not exactly match a redirect URI registered for this client".into(),
        ));
    }
    Ok((client, redirect_uri.to_owned()))
}

fn requested_scopes(params: &Params, source: ScopeSource) -> Result<Scopes, OAuthError> {
    let values: Vec<&str> = match source {
        ScopeSource::Query => params.one("scope")?.into_iter().collect(),
        ScopeSource::ConsentForm => match params.one("requested_scope")? {
            Some(requested) => vec![requested],
            None => params.all("scope").collect(),
        },
    };
    Scopes::parse(values).map_err(OAuthError::invalid_scope)
}
