//! The user's own YouTube channel (`channels?mine=true`): the channel half of a YouTube
//! identity and the test call. A Google account without a channel is a distinct, valid state.

use serde_json::{Map, Value, json};
use tether_core::provider::ProviderError;
use tether_core::secret::AccessToken;
use tether_provider_google::{GoogleAuth, QuotaPolicy};

/// YouTube's quota is per project per day (10,000 units by default): `quotaExceeded` waits
/// for the daily reset at midnight Pacific time.
pub const YOUTUBE_QUOTA: QuotaPolicy = QuotaPolicy {
    daily_reasons: &[
        "quotaExceeded",
        "dailyLimitExceeded",
        "dailyLimitExceededUnreg",
    ],
};

/// The reason YouTube gives when the Google account has no channel.
pub const NO_CHANNEL_REASON: &str = "youtubeSignupRequired";

/// One YouTube channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: String,
    pub title: Option<String>,
    /// The handle (`@name`), when the channel has one.
    pub custom_url: Option<String>,
    pub uploads_playlist: Option<String>,
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Channel {
    /// The first channel of a `channels.list` answer; `None` when `items` is empty or absent.
    pub fn first_of(answer: &Value) -> Result<Option<Self>, ProviderError> {
        let Some(item) = answer
            .get("items")
            .and_then(Value::as_array)
            .and_then(|items| items.first())
        else {
            return Ok(None);
        };
        let id = text(item, "/id").ok_or_else(|| ProviderError::Upstream {
            status: None,
            retry_after: None,
            message: "YouTube listed a channel without an id".to_owned(),
        })?;
        Ok(Some(Self {
            id,
            title: text(item, "/snippet/title"),
            custom_url: text(item, "/snippet/customUrl"),
            uploads_playlist: text(item, "/contentDetails/relatedPlaylists/uploads"),
        }))
    }

    /// `Title (@handle)`, the title, or the id.
    pub fn label(&self) -> String {
        match (&self.title, &self.custom_url) {
            (Some(title), Some(handle)) => format!("{title} ({handle})"),
            (Some(title), None) => title.clone(),
            (None, _) => self.id.clone(),
        }
    }

    /// The channel fields kept on the integration.
    pub fn metadata(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("youtube_channel_id".to_owned(), json!(self.id));
        let fields = [
            ("youtube_channel_title", &self.title),
            ("youtube_custom_url", &self.custom_url),
            ("youtube_uploads_playlist", &self.uploads_playlist),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                map.insert(key.to_owned(), json!(value));
            }
        }
        map
    }
}

/// `channels?part={parts}&mine=true` with the token: the channel, or `None` when the
/// account has none.
pub async fn own_channel(
    auth: &GoogleAuth,
    token: &AccessToken,
    parts: &str,
) -> Result<Option<Channel>, ProviderError> {
    let url = auth.api_url(&format!("/channels?part={parts}&mine=true"));
    let answer = auth.get(&url, token).await?;
    if let Some(failure) = answer.failure() {
        if failure.has_reason(NO_CHANNEL_REASON) {
            return Ok(None);
        }
        return Err(failure.classify(&YOUTUBE_QUOTA));
    }
    Channel::first_of(&answer.into_json(&YOUTUBE_QUOTA)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_list_answer_gives_the_first_channel() {
        let channel = Channel::first_of(&json!({
            "kind": "youtube#channelListResponse",
            "pageInfo": {"totalResults": 1, "resultsPerPage": 5},
            "items": [{
                "kind": "youtube#channel",
                "id": "UC_x5XG1OV2P6uZZ5FSM9Ttw",
                "snippet": {"title": "Google for Developers", "customUrl": "@googledevelopers"},
                "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU_x5XG1OV2P6uZZ5FSM9Ttw"}}
            }]
        }))
        .unwrap()
        .unwrap();
        assert_eq!(channel.id, "UC_x5XG1OV2P6uZZ5FSM9Ttw");
        assert_eq!(channel.label(), "Google for Developers (@googledevelopers)");
        assert_eq!(
            channel.metadata()["youtube_uploads_playlist"],
            "UU_x5XG1OV2P6uZZ5FSM9Ttw"
        );
    }

    #[test]
    fn no_items_means_no_channel_and_an_item_without_id_is_an_error() {
        let empty = json!({"kind": "youtube#channelListResponse", "pageInfo": {"totalResults": 0}});
        assert_eq!(Channel::first_of(&empty).unwrap(), None);
        assert_eq!(Channel::first_of(&json!({"items": []})).unwrap(), None);
        assert!(Channel::first_of(&json!({"items": [{"snippet": {}}]})).is_err());
        let bare = Channel::first_of(&json!({"items": [{"id": "UC1"}]}))
            .unwrap()
            .unwrap();
        assert_eq!(bare.label(), "UC1");
        assert_eq!(bare.metadata().len(), 1);
    }
}
