//! Authenticated GET calls to the Notion API with the pinned `Notion-Version`, failures
//! classified.

use serde_json::Value;
use tether_core::provider::ProviderError;
use tether_core::secret::AccessToken;
use tether_provider_common::http;
use url::Url;

use crate::errors::{Origin, classify};

/// GETs `url` with the access token and returns the JSON answer.
pub(crate) async fn get_json(
    http: &reqwest::Client,
    url: &Url,
    notion_version: &str,
    token: &AccessToken,
) -> Result<Value, ProviderError> {
    let request = http
        .get(url.clone())
        .header("Notion-Version", notion_version);
    http::get_json(
        "the Notion API",
        request,
        token,
        |status, retry_after, body| classify(Origin::Api, status, retry_after, body),
    )
    .await
}
