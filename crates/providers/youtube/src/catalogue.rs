//! The YouTube scope catalogue: the YouTube Data API v3 scopes and the OpenID scopes that
//! identify the Google account behind the channel.

use tether_core::scope_catalog::ScopeCategory::{Admin, Read, Write};
use tether_provider_google::{EMAIL, OPENID, ScopeSpec, google_scope};

/// Every scope the YouTube provider offers.
pub const YOUTUBE_SCOPES: &[ScopeSpec] = &[
    OPENID.required(),
    EMAIL,
    google_scope!(
        "youtube.readonly",
        "View your YouTube account",
        "See your YouTube channel, playlists, subscriptions and videos.",
        Read
    )
    .required(),
    google_scope!(
        "youtube.upload",
        "Upload videos",
        "Upload videos to your YouTube channel and manage them.",
        Write
    ),
    google_scope!(
        "youtube.force-ssl",
        "Manage videos, comments and captions",
        "See, edit and permanently delete your YouTube videos, ratings, comments and captions.",
        Write
    )
    .dangerous(),
    google_scope!(
        "youtube",
        "Manage your YouTube account",
        "Manage your YouTube account: channel, playlists, subscriptions and videos.",
        Admin
    )
    .dangerous(),
    google_scope!(
        "youtube.channel-memberships.creator",
        "Channel members",
        "See a list of your channel's current members and their levels.",
        Read
    ),
    google_scope!(
        "youtubepartner",
        "YouTube partner content",
        "View and manage your assets and associated content on YouTube (content owners).",
        Admin
    )
    .dangerous(),
    google_scope!(
        "youtubepartner-channel-audit",
        "Channel audit",
        "View private information of your channel relevant to an audit by a YouTube partner.",
        Read
    ),
];

/// Requested when the caller names no scopes.
pub const YOUTUBE_DEFAULT_SCOPES: [&str; 3] = [
    "openid",
    "email",
    "https://www.googleapis.com/auth/youtube.readonly",
];

/// Added to every request: the Google subject is part of the identity.
pub const YOUTUBE_IMPLICIT_SCOPES: [&str; 1] = ["openid"];

/// Scopes with which `channels?mine=true` answers; without one of them the channel is not
/// looked up.
pub const CHANNEL_READ_SCOPES: [&str; 5] = [
    "https://www.googleapis.com/auth/youtube.readonly",
    "https://www.googleapis.com/auth/youtube",
    "https://www.googleapis.com/auth/youtube.force-ssl",
    "https://www.googleapis.com/auth/youtubepartner",
    "https://www.googleapis.com/auth/youtubepartner-channel-audit",
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use tether_core::ProviderKind;
    use tether_provider_google::catalogue;

    use super::*;

    #[test]
    fn every_row_is_a_valid_distinct_scope_and_defaults_come_from_the_catalogue() {
        let entries = catalogue(ProviderKind::Youtube, YOUTUBE_SCOPES);
        assert_eq!(entries.len(), YOUTUBE_SCOPES.len(), "a row failed to parse");
        let names: BTreeSet<&str> = entries.iter().map(|e| e.scope.as_str()).collect();
        assert_eq!(names.len(), entries.len(), "duplicate rows");
        for scope in YOUTUBE_DEFAULT_SCOPES
            .iter()
            .chain(&YOUTUBE_IMPLICIT_SCOPES)
            .chain(&CHANNEL_READ_SCOPES)
        {
            assert!(names.contains(scope), "{scope} is not in the catalogue");
        }
        assert!(
            !names
                .iter()
                .any(|n| n.contains("calendar") || n.contains("gmail")),
            "YouTube offers only its own scopes"
        );
    }

    #[test]
    fn reading_the_channel_is_required_and_managing_it_is_dangerous() {
        let entries = catalogue(ProviderKind::Youtube, YOUTUBE_SCOPES);
        let required: Vec<&str> = entries
            .iter()
            .filter(|e| e.is_required)
            .map(|e| e.scope.as_str())
            .collect();
        assert_eq!(
            required,
            ["openid", "https://www.googleapis.com/auth/youtube.readonly"]
        );
        let manage = entries
            .iter()
            .find(|e| e.scope.as_str() == "https://www.googleapis.com/auth/youtube")
            .unwrap();
        assert!(manage.is_dangerous);
        assert!(entries.iter().all(|e| e.provider == ProviderKind::Youtube));
    }
}
