//! The YouTube provider: Google's OAuth client with YouTube scopes, identity from the Google
//! subject plus the user's own channel, the own-channel test call, quota-aware errors.

use async_trait::async_trait;
use serde_json::{Value, json};
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
use tether_provider_google::{
    ApiFailure, AuthDefaults, GOOGLE_AUTH, GoogleAuth, parse_token_response,
};

use crate::catalogue::{
    CHANNEL_READ_SCOPES, YOUTUBE_DEFAULT_SCOPES, YOUTUBE_IMPLICIT_SCOPES, YOUTUBE_SCOPES,
};
use crate::channel::{NO_CHANNEL_REASON, own_channel};

/// The YouTube Data API v3 base (the proxy base).
pub const DEFAULT_API_BASE: &str = "https://www.googleapis.com/youtube/v3";

/// YouTube: Google's OAuth with the YouTube scope table (and no option of its own).
pub const YOUTUBE: ProviderDescriptor = ProviderDescriptor {
    kind: ProviderKind::Youtube,
    scopes: ScopeCatalogue::Table(YOUTUBE_SCOPES),
    default_scopes: &YOUTUBE_DEFAULT_SCOPES,
    implicit_scopes: &YOUTUBE_IMPLICIT_SCOPES,
    ..GOOGLE_AUTH
};

/// A configured YouTube provider.
#[derive(Debug, Clone)]
pub struct YoutubeProvider {
    auth: GoogleAuth,
}

impl YoutubeProvider {
    /// Reads the Google endpoints `authorize`, `token`, `revocation`, `userinfo`, `issuer`,
    /// `api_base` (default [`DEFAULT_API_BASE`]) and the options `client_auth`, `prompt`,
    /// `include_granted_scopes` (default `false` here), `require_iss`; anything else is refused.
    pub fn new(settings: &ProviderSettings, http: reqwest::Client) -> Result<Self, ProviderError> {
        let defaults = AuthDefaults {
            api_base: DEFAULT_API_BASE,
            // A YouTube token should not also carry Calendar or Gmail access granted to a
            // Google integration through the same OAuth client.
            include_granted_scopes: false,
        };
        Ok(Self {
            auth: GoogleAuth::from_settings(settings, http, defaults, &[])?.described_by(&YOUTUBE),
        })
    }
}

/// Whether the token can list the user's channel (unknown grants are tried).
fn may_read_channel(response: &RawTokenResponse) -> bool {
    response.granted_scopes().is_none_or(|granted| {
        granted
            .iter()
            .any(|s| CHANNEL_READ_SCOPES.contains(&s.as_str()))
    })
}

impl Described for YoutubeProvider {
    fn base(&self) -> &ProviderBase {
        self.auth.base()
    }
}

#[async_trait]
impl Provider for YoutubeProvider {
    provider_basics!();

    fn authorize_params(&self, ctx: &AuthorizeContext<'_>) -> Vec<(String, String)> {
        self.auth.authorize_params(ctx)
    }

    fn grants(&self, granted: &ScopeSet, wanted: &Scope) -> bool {
        tether_provider_google::grants(granted, wanted)
    }

    fn parse_token_response(&self, body: &[u8]) -> Result<RawTokenResponse, ProviderError> {
        parse_token_response(body)
    }

    /// Subject `{google sub}:{channel id}`, or the Google subject alone for an account
    /// without a channel (or a grant that cannot read it).
    async fn fetch_identity(
        &self,
        access_token: &AccessToken,
        response: &RawTokenResponse,
        _nonce: Option<&str>,
    ) -> Result<AccountIdentity, ProviderError> {
        let user = self.auth.userinfo(access_token).await?;
        let channel = if may_read_channel(response) {
            own_channel(&self.auth, access_token, "id,snippet,contentDetails").await?
        } else {
            None
        };
        let mut metadata = user.metadata();
        metadata.insert("youtube_has_channel".to_owned(), json!(channel.is_some()));
        let (subject, label) = match &channel {
            Some(channel) => {
                metadata.extend(channel.metadata());
                (
                    format!("{}:{}", user.sub, channel.id),
                    Some(channel.label()),
                )
            }
            None => (
                user.sub.clone(),
                Some(match user.label() {
                    Some(label) => format!("{label} (no YouTube channel)"),
                    None => "Google account without a YouTube channel".to_owned(),
                }),
            ),
        };
        Ok(AccountIdentity {
            subject,
            label,
            metadata: Value::Object(metadata),
        })
    }

    async fn test_connection(
        &self,
        access_token: &AccessToken,
    ) -> Result<ConnectionReport, ProviderError> {
        let detail = match own_channel(&self.auth, access_token, "id").await? {
            Some(channel) => format!("YouTube answered for channel {}", channel.id),
            None => "YouTube answered, but this Google account has no YouTube channel".to_owned(),
        };
        Ok(ConnectionReport { detail })
    }

    /// A 401 saying the account has no channel is not an expired token.
    fn is_expired_token_answer(&self, status: u16, body: &[u8]) -> bool {
        status == 401 && !ApiFailure::parse(status, None, body).has_reason(NO_CHANNEL_REASON)
    }
}
