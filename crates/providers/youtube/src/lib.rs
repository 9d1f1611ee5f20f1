//! Tether provider: YouTube (Data API v3). Google's OAuth with YouTube scopes: the
//! endpoints, client authentication, authorize parameters, token parsing and error mapping
//! are the Google crate's [`GoogleAuth`](tether_provider_google::GoogleAuth); this crate adds
//! the YouTube scope catalogue, the channel identity, the own-channel test call and YouTube's
//! quota errors. It is its own provider (`ProviderKind::Youtube`, callback
//! `/api/v1/oauth/youtube/callback`).
//!
//! Construct with [`YoutubeProvider::new`] from `ProviderSettings` and the server's
//! `reqwest::Client`.
//!
//! # Endpoints (all overridable by name)
//!
//! | name | default |
//! |---|---|
//! | `authorize` | `https://accounts.google.com/o/oauth2/v2/auth` |
//! | `token` | `https://oauth2.googleapis.com/token` |
//! | `revocation` | `https://oauth2.googleapis.com/revoke` (RFC 7009) |
//! | `userinfo` | `https://openidconnect.googleapis.com/v1/userinfo` |
//! | `api_base` | `https://www.googleapis.com/youtube/v3` (proxy base; `channels` for identity and tests) |
//! | `issuer` | `https://accounts.google.com` (compared with a callback's `iss`) |
//!
//! # Options
//!
//! | name | values | default |
//! |---|---|---|
//! | `client_auth` | `post` or `basic` | `post` |
//! | `prompt` | `consent`, `select_account`, both, `none`, or empty (not sent) | `consent` |
//! | `include_granted_scopes` | `true` / `false` | `false` (a YouTube token carries YouTube scopes only) |
//! | `require_iss` | `true` / `false`: refuse callbacks without `iss` | `false` |
//!
//! # Identity
//!
//! `openid` is always requested. The subject is `{Google sub}:{channel id}`; an account
//! without a channel (or a grant that cannot read it) is identified by the Google `sub`
//! alone and marked `youtube_has_channel: false`. The Google `sub` comes from the userinfo
//! endpoint, as for Google: the ID token of the answer is never read.
//!
//! # Quota
//!
//! `quotaExceeded` (the project's daily quota) is `RateLimited` until the next midnight
//! Pacific time (08:00 UTC at the latest); per-minute limits are `RateLimited` with the
//! answer's `Retry-After`.

mod catalogue;
mod channel;
mod provider;

pub use catalogue::{
    CHANNEL_READ_SCOPES, YOUTUBE_DEFAULT_SCOPES, YOUTUBE_IMPLICIT_SCOPES, YOUTUBE_SCOPES,
};
pub use channel::{Channel, NO_CHANNEL_REASON, YOUTUBE_QUOTA, own_channel};
pub use provider::{DEFAULT_API_BASE, YOUTUBE, YoutubeProvider};
