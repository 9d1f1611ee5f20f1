//! The Google provider: the shared Google OAuth client, the Google scope catalogue, identity
//! from userinfo and a test call chosen by the `test_call` option.

use async_trait::async_trait;
use serde_json::Value;
use tether_core::ProviderKind;
use tether_core::provider::{
    AccountIdentity, AuthorizeContext, ConnectionReport, Provider, ProviderError, ProviderSettings,
    RawTokenResponse,
};
use tether_core::secret::AccessToken;
use tether_core::{Scope, ScopeSet};
use tether_provider_common::{
    Described, ProviderBase, ProviderDescriptor, ScopeCatalogue, provider_basics,
};

use crate::api_error::QuotaPolicy;
use crate::auth::{AuthDefaults, GOOGLE_AUTH, GoogleAuth};
use crate::catalogue::{GOOGLE_DEFAULT_SCOPES, GOOGLE_IMPLICIT_SCOPES, GOOGLE_SCOPES};
use crate::token;

/// Google (Calendar, Drive, Gmail, Tasks): Google's OAuth with the Google scope table and
/// the `test_call` option.
pub const GOOGLE: ProviderDescriptor = ProviderDescriptor {
    kind: ProviderKind::Google,
    options: &[
        "client_auth",
        "prompt",
        "include_granted_scopes",
        "require_iss",
        "test_call",
    ],
    scopes: ScopeCatalogue::Table(GOOGLE_SCOPES),
    default_scopes: &GOOGLE_DEFAULT_SCOPES,
    implicit_scopes: &GOOGLE_IMPLICIT_SCOPES,
    ..GOOGLE_AUTH
};

/// The proxy base: Calendar, Drive, Gmail and Tasks all answer under it.
pub const DEFAULT_API_BASE: &str = "https://www.googleapis.com";

/// Which cheap call `test_connection` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCall {
    /// OpenID userinfo (needs `openid`, always requested).
    Userinfo,
    /// The first event of the primary calendar (any Calendar read scope).
    Calendar,
    /// `about?fields=user` (any Drive scope).
    Drive,
    /// The mailbox profile (any Gmail scope except `gmail.send`).
    Gmail,
    /// The first task list (a Tasks scope).
    Tasks,
}

impl TestCall {
    fn parse(value: Option<&str>) -> Result<Self, ProviderError> {
        Ok(match value.unwrap_or("userinfo") {
            "userinfo" => TestCall::Userinfo,
            "calendar" => TestCall::Calendar,
            "drive" => TestCall::Drive,
            "gmail" => TestCall::Gmail,
            "tasks" => TestCall::Tasks,
            other => {
                return Err(ProviderError::Misconfigured {
                    message: format!(
                        "option `test_call` must be userinfo, calendar, drive, gmail or tasks, not `{other}`"
                    ),
                });
            }
        })
    }

    /// The path under the API base and what the report calls it.
    fn api_path(self) -> Option<(&'static str, &'static str)> {
        match self {
            TestCall::Userinfo => None,
            TestCall::Calendar => Some((
                "/calendar/v3/calendars/primary/events?maxResults=1",
                "Google Calendar",
            )),
            TestCall::Drive => Some(("/drive/v3/about?fields=user", "Google Drive")),
            TestCall::Gmail => Some(("/gmail/v1/users/me/profile", "Gmail")),
            TestCall::Tasks => Some(("/tasks/v1/users/@me/lists?maxResults=1", "Google Tasks")),
        }
    }
}

/// A configured Google provider.
#[derive(Debug, Clone)]
pub struct GoogleProvider {
    auth: GoogleAuth,
    test_call: TestCall,
}

impl GoogleProvider {
    /// Reads the endpoints `authorize`, `token`, `revocation`, `userinfo`, `api_base`,
    /// `issuer` and the options `client_auth`, `prompt`, `include_granted_scopes`,
    /// `require_iss`, `test_call`; anything else is refused.
    pub fn new(settings: &ProviderSettings, http: reqwest::Client) -> Result<Self, ProviderError> {
        let defaults = AuthDefaults {
            api_base: DEFAULT_API_BASE,
            include_granted_scopes: true,
        };
        let auth = GoogleAuth::from_settings(settings, http, defaults, &["test_call"])?
            .described_by(&GOOGLE);
        Ok(Self {
            auth,
            test_call: TestCall::parse(settings.option("test_call"))?,
        })
    }

    /// The shared Google OAuth client.
    pub fn auth(&self) -> &GoogleAuth {
        &self.auth
    }
}

impl Described for GoogleProvider {
    fn base(&self) -> &ProviderBase {
        self.auth.base()
    }
}

#[async_trait]
impl Provider for GoogleProvider {
    provider_basics!();

    fn authorize_params(&self, ctx: &AuthorizeContext<'_>) -> Vec<(String, String)> {
        self.auth.authorize_params(ctx)
    }

    fn grants(&self, granted: &ScopeSet, wanted: &Scope) -> bool {
        token::grants(granted, wanted)
    }

    fn parse_token_response(&self, body: &[u8]) -> Result<RawTokenResponse, ProviderError> {
        token::parse_token_response(body)
    }

    /// Identity comes from the userinfo endpoint, called with the fresh access token; the ID
    /// token of the answer is never read (so neither verified nor nonce-checked): no claim of
    /// it is trusted.
    async fn fetch_identity(
        &self,
        access_token: &AccessToken,
        _response: &RawTokenResponse,
        _nonce: Option<&str>,
    ) -> Result<AccountIdentity, ProviderError> {
        let user = self.auth.userinfo(access_token).await?;
        Ok(AccountIdentity {
            subject: user.sub.clone(),
            label: user.label(),
            metadata: Value::Object(user.metadata()),
        })
    }

    async fn test_connection(
        &self,
        access_token: &AccessToken,
    ) -> Result<ConnectionReport, ProviderError> {
        let Some((path, api)) = self.test_call.api_path() else {
            let user = self.auth.userinfo(access_token).await?;
            return Ok(ConnectionReport {
                detail: format!(
                    "Google answered for {}",
                    user.label()
                        .unwrap_or_else(|| format!("account {}", user.sub))
                ),
            });
        };
        let answer = self
            .auth
            .get(&self.auth.api_url(path), access_token)
            .await?;
        let json = answer.into_json(&QuotaPolicy::GOOGLE)?;
        let account = json
            .get("emailAddress")
            .or_else(|| json.pointer("/user/emailAddress"))
            .and_then(Value::as_str);
        Ok(ConnectionReport {
            detail: match account {
                Some(account) => format!("{api} answered for {account}"),
                None => format!("{api} answered"),
            },
        })
    }
}
