//! `OpenEmrProvider`: one OpenEMR site as a Tether provider — built without the network from
//! the documented paths (`new`) or from the site's SMART configuration (`discover`).

use async_trait::async_trait;
use serde_json::{Value, json};
use tether_core::ProviderKind;
use tether_core::provider::{
    AccountIdentity, AuthorizeContext, ClientAuthMethod, ConnectionReport, Provider,
    ProviderCapabilities, ProviderError, ProviderSettings, RawTokenResponse,
};
use tether_core::secret::AccessToken;
use tether_oidc::{ExpectedIssuer, IdTokenVerifier, VerifiedClaims};
use tether_provider_common::{
    Described, EndpointSpec, ProviderBase, ProviderDescriptor, ScopeCatalogue, provider_basics,
};

use crate::config::{self, Resolved};
use crate::discovery::{self, SmartConfiguration};
use crate::identity::{self, Claims};
use crate::scopes::{self, ScopeSyntax};
use crate::site::{Site, misconfigured};
use crate::{api, connection};

/// OpenEMR as data: PKCE, rotating refresh tokens, a confidential client. Every endpoint
/// depends on the site (and its SMART configuration), so the defaults are resolved by
/// `config::resolve` (override → discovered → documented path), not by templates here; the
/// client authentication, revocation and `iss` requirement follow the options and discovery.
pub const OPENEMR: ProviderDescriptor = ProviderDescriptor {
    kind: ProviderKind::Openemr,
    client_auth: ClientAuthMethod::Post,
    capabilities: ProviderCapabilities::NONE
        .with_pkce()
        .rotating_refresh_tokens(),
    endpoints: &[
        EndpointSpec::optional("authorize"),
        EndpointSpec::optional("token"),
        EndpointSpec::optional("revocation"),
        EndpointSpec::optional("userinfo"),
        EndpointSpec::optional("api_base"),
        EndpointSpec::optional("issuer"),
        EndpointSpec::optional("fhir_base"),
        EndpointSpec::optional("registration"),
        EndpointSpec::optional("jwks"),
    ],
    options: &config::OPTION_NAMES,
    scopes: ScopeCatalogue::Built(scopes::catalogue),
    default_scopes: &[],
    implicit_scopes: &[],
    secret_required: Some("Tether uses OpenEMR as a confidential (private) client"),
    token_errors: api::classify_token_error,
};

/// One configured OpenEMR site.
#[derive(Debug, Clone)]
pub struct OpenEmrProvider {
    base: ProviderBase,
    resolved: Resolved,
    discovered: Option<SmartConfiguration>,
    id_tokens: IdTokenVerifier,
}

impl OpenEmrProvider {
    /// Builds the provider from the documented paths (and any endpoint overrides), with no
    /// network call.
    pub fn new(settings: &ProviderSettings, http: reqwest::Client) -> Result<Self, ProviderError> {
        Self::build(settings, None, http)
    }

    /// Reads the site's `{fhir_base}/.well-known/smart-configuration` and builds the provider
    /// from it; falls back to [`OpenEmrProvider::new`]'s documented paths when the site has
    /// no usable document (a 4xx answer, or not a SMART configuration). A site that cannot be
    /// reached, or answers 5xx/429, is an error: a fallback would hide the outage.
    pub async fn discover(
        settings: &ProviderSettings,
        http: reqwest::Client,
    ) -> Result<Self, ProviderError> {
        settings.check_known(&OPENEMR.endpoint_names(), &config::OPTION_NAMES)?;
        let site = config::site(settings)?;
        let fhir_base = settings.endpoint("fhir_base", &site.fhir_base());
        let url = format!(
            "{}/.well-known/smart-configuration",
            fhir_base.trim_end_matches('/')
        );
        crate::site::secure_url("endpoint `fhir_base`", &url)?;
        let found = discovery::fetch(&http, &url).await?;
        Self::build(settings, found, http)
    }

    fn build(
        settings: &ProviderSettings,
        discovered: Option<SmartConfiguration>,
        http: reqwest::Client,
    ) -> Result<Self, ProviderError> {
        let resolved = config::resolve(settings, discovered.as_ref())?;
        if settings.client.client_id.trim().is_empty() {
            return Err(misconfigured(
                "the client id is missing; register the client with `tether openemr register`",
            ));
        }
        if settings.client.client_secret.is_none() {
            return Err(misconfigured(
                "the client secret is missing: Tether uses OpenEMR as a confidential (private) client",
            ));
        }
        let id_tokens = IdTokenVerifier::new(
            resolved.jwks_url.clone(),
            http.clone(),
            settings.client.client_id.clone(),
            ExpectedIssuer::Exact(resolved.endpoints.issuer.clone().unwrap_or_default()),
        );
        let mut base = ProviderBase::new(&OPENEMR, settings, resolved.endpoints.clone(), http);
        base.client_auth = resolved.client_auth;
        base.capabilities.revocation = resolved.endpoints.revocation_url.is_some();
        base.capabilities.requires_issuer_parameter = resolved.requires_issuer_parameter;
        base.default_scopes = scopes::default_scopes(resolved.scope_syntax);
        Ok(Self {
            base,
            resolved,
            discovered,
            id_tokens,
        })
    }

    pub fn site(&self) -> &Site {
        &self.resolved.site
    }

    /// The site's FHIR base URL: the `aud` of authorize requests.
    pub fn fhir_base(&self) -> &str {
        &self.resolved.fhir_base
    }

    /// Where clients register (RFC 7591).
    pub fn registration_url(&self) -> &str {
        &self.resolved.registration_url
    }

    /// The SMART configuration this provider was built from, if discovery found one.
    pub fn smart_configuration(&self) -> Option<&SmartConfiguration> {
        self.discovered.as_ref()
    }

    pub fn scope_syntax(&self) -> ScopeSyntax {
        self.resolved.scope_syntax
    }

    /// A label for the site in messages: the instance name, or the site's address.
    fn site_label(&self) -> &str {
        if self.base.instance.is_empty() {
            self.resolved.site.base()
        } else {
            &self.base.instance
        }
    }

    /// The claims of the answer's ID token once verified; `None` without one.
    async fn verified_id_token(
        &self,
        response: &RawTokenResponse,
        nonce: Option<&str>,
    ) -> Result<Option<VerifiedClaims>, ProviderError> {
        match &response.id_token {
            Some(token) => self
                .id_tokens
                .verify(token.expose_secret(), nonce)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    async fn userinfo(&self, token: &AccessToken) -> Result<Claims, ProviderError> {
        let url = self
            .resolved
            .endpoints
            .userinfo_url
            .as_deref()
            .unwrap_or_default();
        let answer = api::get(&self.base.http, url, Some(token)).await?;
        if !(200..300).contains(&answer.status) {
            return Err(api::classify_api_error(
                answer.status,
                answer.retry_after,
                &answer.body,
            ));
        }
        serde_json::from_slice::<Value>(&answer.body)
            .map(Claims::from_json)
            .map_err(|_| ProviderError::Upstream {
                status: Some(answer.status),
                retry_after: None,
                message: "OpenEMR's userinfo answer is not JSON".to_owned(),
            })
    }
}

impl Described for OpenEmrProvider {
    fn base(&self) -> &ProviderBase {
        &self.base
    }
}

#[async_trait]
impl Provider for OpenEmrProvider {
    provider_basics!();

    /// SMART requires `aud`: the FHIR base the token is for.
    fn authorize_params(&self, _ctx: &AuthorizeContext<'_>) -> Vec<(String, String)> {
        vec![("aud".to_owned(), self.resolved.fhir_base.clone())]
    }

    /// Granted scopes gain their equivalent in the other SMART syntax (`.read` ⇔ `.rs`).
    fn parse_token_response(&self, body: &[u8]) -> Result<RawTokenResponse, ProviderError> {
        let mut raw = RawTokenResponse::parse(body)?;
        raw.scope = raw.scope.as_deref().map(scopes::with_equivalents);
        Ok(raw)
    }

    /// The account named by the token answer: its `fhirUser`, the claims of its ID token once
    /// verified (an ID token that does not verify fails the identity), else userinfo.
    async fn fetch_identity(
        &self,
        access_token: &AccessToken,
        response: &RawTokenResponse,
        nonce: Option<&str>,
    ) -> Result<AccountIdentity, ProviderError> {
        let verified = self.verified_id_token(response, nonce).await?;
        let mut claims = identity::answer_claims(verified, response);
        if !claims.identifies() {
            claims = self.userinfo(access_token).await?;
        }
        let metadata = json!({
            "site": self.resolved.site.name(),
            "site_url": self.resolved.site.base(),
            "fhir_base": self.resolved.fhir_base,
        });
        identity::identity(
            &claims,
            &self.resolved.fhir_base,
            self.site_label(),
            metadata,
        )
    }

    async fn test_connection(
        &self,
        access_token: &AccessToken,
    ) -> Result<ConnectionReport, ProviderError> {
        connection::test(
            &self.base.http,
            &self.resolved.fhir_base,
            self.site_label(),
            access_token,
        )
        .await
    }

    /// `fhirUser` is taken from the ID token only when it verifies. An answer whose ID token
    /// does not verify gives no launch context at all (and is logged): on a refresh the
    /// stored one is kept; at connect the identity has already failed on it.
    async fn launch_context(
        &self,
        response: &RawTokenResponse,
        nonce: Option<&str>,
    ) -> Option<Value> {
        let verified = match self.verified_id_token(response, nonce).await {
            Ok(verified) => verified,
            Err(e) => {
                tracing::warn!(
                    site = %self.resolved.site.base(),
                    error = %e,
                    "OpenEMR's ID token did not verify; the answer's launch context is not used"
                );
                return None;
            }
        };
        identity::launch_context(response, verified.as_ref())
    }
}
