//! Calls to a provider's token and revocation endpoints. The `oauth2` crate builds every
//! request (client authentication, grant parameters, PKCE, scopes); our adapter sends it with
//! reqwest (timeouts, no redirects, rustls), keeps the raw answer, and the provider parses
//! and classifies that answer — providers deviate too much from RFC 6749 for one typed
//! response (Orange's string `expires_in`, Notion's JSON bodies, non-JSON 5xx pages).

use std::sync::Mutex;
use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret as OClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken as ORefreshToken, RevocationUrl, Scope as OScope,
    StandardRevocableToken, TokenUrl,
};
use tether_core::ScopeSet;
use tether_core::provider::{ClientAuthMethod, Provider, ProviderError, RawTokenResponse};
use tether_core::secret::PkceVerifier;
use url::Url;

use crate::error::BrokerError;

type OClient =
    BasicClient<EndpointMaybeSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointSet>;

/// The HTTP client for provider calls.
#[derive(Debug, Clone)]
pub struct ProviderHttp {
    client: reqwest::Client,
}

impl ProviderHttp {
    pub fn new(timeout: Duration) -> Result<Self, BrokerError> {
        let client = tether_provider_common::http::client(timeout)
            .map_err(|e| BrokerError::Internal(format!("HTTP client: {e}")))?;
        Ok(Self { client })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

mod adapter;

pub use adapter::parse_retry_after;
use adapter::{Adapter, Answer};

fn misconfigured(what: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Misconfigured {
        message: format!("{what}: {e}"),
    }
}

fn oauth_client(provider: &dyn Provider, redirect: Option<&Url>) -> Result<OClient, ProviderError> {
    let endpoints = provider.endpoints();
    let client = provider.client();
    let auth_url = endpoints
        .authorize_url
        .as_deref()
        .map(|u| AuthUrl::new(u.to_owned()))
        .transpose()
        .map_err(|e| misconfigured("authorize URL", e))?;
    let revocation_url = revocation_url(provider)?
        .map(|(seen, _)| RevocationUrl::new(seen))
        .transpose()
        .map_err(|e| misconfigured("revocation URL", e))?;
    let token_url =
        TokenUrl::new(endpoints.token_url.clone()).map_err(|e| misconfigured("token URL", e))?;
    let mut oauth = BasicClient::new(ClientId::new(client.client_id.clone()))
        .set_auth_uri_option(auth_url)
        .set_token_uri(token_url)
        .set_revocation_url_option(revocation_url)
        .set_auth_type(match provider.client_auth_method() {
            ClientAuthMethod::Post => AuthType::RequestBody,
            ClientAuthMethod::Basic | ClientAuthMethod::JsonBodyWithBasic => AuthType::BasicAuth,
        });
    if let Some(secret) = &client.client_secret {
        oauth = oauth.set_client_secret(OClientSecret::new(secret.expose_secret().to_owned()));
    }
    if let Some(redirect) = redirect {
        oauth = oauth.set_redirect_uri(
            RedirectUrl::new(redirect.to_string()).map_err(|e| misconfigured("redirect URI", e))?,
        );
    }
    Ok(oauth)
}

/// The revocation endpoint as oauth2 should see it, and as it really is. oauth2 only revokes
/// over HTTPS (RFC 7009 §2); the sandbox on a developer's machine or in tests speaks plain
/// HTTP, so for the sandbox or a loopback host oauth2 is shown the `https` form and the
/// adapter sends to the real one. Any other plain-HTTP revocation endpoint is refused.
fn revocation_url(provider: &dyn Provider) -> Result<Option<(String, String)>, ProviderError> {
    let Some(real) = provider.endpoints().revocation_url.as_deref() else {
        return Ok(None);
    };
    let url = Url::parse(real).map_err(|e| misconfigured("revocation URL", e))?;
    if url.scheme() != "http" {
        return Ok(Some((real.to_owned(), real.to_owned())));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if !(loopback || provider.is_sandbox()) {
        return Err(misconfigured(
            "revocation URL",
            "a revocation endpoint must use https",
        ));
    }
    let mut seen = url.clone();
    seen.set_scheme("https")
        .map_err(|()| misconfigured("revocation URL", "cannot be shown as https"))?;
    Ok(Some((seen.to_string(), url.to_string())))
}

fn adapter<'a>(provider: &dyn Provider, http: &'a ProviderHttp) -> Adapter<'a> {
    Adapter {
        http: &http.client,
        json_body: provider.client_auth_method() == ClientAuthMethod::JsonBodyWithBasic,
        rewrite: None,
        headers: provider.token_request_headers(),
        answer: Mutex::new(None),
    }
}

/// Turns what the adapter saw into the provider's reading of it.
fn read_answer<E: std::error::Error>(
    provider: &dyn Provider,
    adapter: Adapter<'_>,
    sent: Result<(), E>,
) -> Result<Answer, ProviderError> {
    let answer = adapter.answer.into_inner().ok().flatten();
    match (answer, sent) {
        (Some(answer), _) if (200..300).contains(&answer.status) => Ok(answer),
        (Some(answer), _) => {
            Err(provider.classify_error(answer.status, answer.retry_after, &answer.body))
        }
        (None, Err(e)) => Err(ProviderError::Network {
            message: error_chain(&e),
        }),
        (None, Ok(())) => Err(ProviderError::Network {
            message: "no answer from the provider".to_owned(),
        }),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    message
}

fn scopes_of(scopes: &ScopeSet) -> Vec<OScope> {
    scopes
        .iter()
        .map(|s| OScope::new(s.as_str().to_owned()))
        .collect()
}

/// The provider's authorize URL exactly as the connect flow sends the browser to it:
/// the requested scopes plus the provider's implicit ones, PKCE S256 when the provider takes
/// it, a `nonce` for OpenID requests, and the provider's own parameters.
pub fn provider_authorize_url(
    provider: &dyn Provider,
    redirect: &Url,
    state: &str,
    verifier: Option<&str>,
    requested: &ScopeSet,
    login_hint: Option<&str>,
    nonce: &str,
) -> Result<Url, ProviderError> {
    let scopes = requested.union(&provider.implicit_scopes());
    let ctx = tether_core::provider::AuthorizeContext {
        scopes: &scopes,
        login_hint,
    };
    let mut extra = provider.authorize_params(&ctx);
    if sends_nonce(provider, requested) {
        extra.push(("nonce".to_owned(), nonce.to_owned()));
    }
    let verifier = if provider.capabilities().pkce {
        verifier
    } else {
        None
    };
    authorize_url(provider, redirect, state, verifier, &scopes, &extra)
}

/// Whether the authorize URL for `requested` carries the flow's `nonce`: when it asks for
/// `openid` (requested or implicit), and so for an ID token the nonce must come back in.
pub fn sends_nonce(provider: &dyn Provider, requested: &ScopeSet) -> bool {
    requested
        .union(&provider.implicit_scopes())
        .iter()
        .any(|s| s.as_str() == "openid")
}

/// The provider's authorize URL with exactly these scopes and parameters.
pub(crate) fn authorize_url(
    provider: &dyn Provider,
    redirect: &Url,
    state: &str,
    verifier: Option<&str>,
    scopes: &ScopeSet,
    extra: &[(String, String)],
) -> Result<Url, ProviderError> {
    let client = oauth_client(provider, Some(redirect))?;
    let state = state.to_owned();
    let mut request = client
        .authorize_url(move || CsrfToken::new(state))
        .map_err(|e| misconfigured("authorize endpoint", e))?
        .add_scopes(scopes_of(scopes));
    if let Some(verifier) = verifier {
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            verifier.to_owned(),
        ));
        request = request.set_pkce_challenge(challenge);
    }
    for (k, v) in extra {
        request = request.add_extra_param(k.clone(), v.clone());
    }
    Ok(request.url().0)
}

/// A fresh PKCE S256 verifier.
pub fn new_pkce_verifier() -> PkceVerifier {
    PkceVerifier::new(PkceCodeChallenge::new_random_sha256().1.secret().clone())
}

/// The authorization-code grant (with the PKCE verifier when given).
pub async fn exchange_code(
    provider: &dyn Provider,
    http: &ProviderHttp,
    code: &str,
    verifier: Option<&str>,
    redirect: &Url,
) -> Result<RawTokenResponse, ProviderError> {
    let client = oauth_client(provider, Some(redirect))?;
    let adapter = adapter(provider, http);
    let mut request = client.exchange_code(AuthorizationCode::new(code.to_owned()));
    if let Some(verifier) = verifier {
        request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
    }
    let sent = request.request_async(&adapter).await.map(|_| ());
    let answer = read_answer(provider, adapter, sent)?;
    provider.parse_token_response(&answer.body)
}

/// The refresh-token grant.
pub async fn refresh(
    provider: &dyn Provider,
    http: &ProviderHttp,
    refresh_token: &str,
) -> Result<RawTokenResponse, ProviderError> {
    let client = oauth_client(provider, None)?;
    let adapter = adapter(provider, http);
    let token = ORefreshToken::new(refresh_token.to_owned());
    let sent = client
        .exchange_refresh_token(&token)
        .request_async(&adapter)
        .await
        .map(|_| ());
    let answer = read_answer(provider, adapter, sent)?;
    provider.parse_token_response(&answer.body)
}

/// The client-credentials grant.
pub async fn client_credentials(
    provider: &dyn Provider,
    http: &ProviderHttp,
    scopes: &ScopeSet,
) -> Result<RawTokenResponse, ProviderError> {
    let client = oauth_client(provider, None)?;
    let adapter = adapter(provider, http);
    let sent = client
        .exchange_client_credentials()
        .add_scopes(scopes_of(scopes))
        .request_async(&adapter)
        .await
        .map(|_| ());
    let answer = read_answer(provider, adapter, sent)?;
    provider.parse_token_response(&answer.body)
}

/// Which token a revocation names.
#[derive(Debug, Clone, Copy)]
pub enum TokenKind {
    Access,
    Refresh,
}

/// RFC 7009 revocation. An answer saying the token is already invalid counts as done.
pub async fn revoke(
    provider: &dyn Provider,
    http: &ProviderHttp,
    token: &str,
    kind: TokenKind,
) -> Result<(), ProviderError> {
    let client = oauth_client(provider, None)?;
    let mut adapter = adapter(provider, http);
    adapter.rewrite = revocation_url(provider)?;
    let token = match kind {
        TokenKind::Access => {
            StandardRevocableToken::AccessToken(oauth2::AccessToken::new(token.to_owned()))
        }
        TokenKind::Refresh => {
            StandardRevocableToken::RefreshToken(ORefreshToken::new(token.to_owned()))
        }
    };
    let request = client
        .revoke_token(token)
        .map_err(|e| misconfigured("revocation endpoint", e))?;
    let sent = request.request_async(&adapter).await.map(|_| ());
    let already_gone = adapter
        .answer
        .lock()
        .ok()
        .and_then(|a| {
            a.as_ref().map(|a| {
                a.status == 400
                    && serde_json::from_slice::<serde_json::Value>(&a.body)
                        .ok()
                        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                        .is_some_and(|e| e == "invalid_token")
            })
        })
        .unwrap_or(false);
    // The final RFC answers 200 for unknown tokens; its drafts answered 400 invalid_token.
    if already_gone {
        return Ok(());
    }
    read_answer(provider, adapter, sent).map(|_| ())
}
