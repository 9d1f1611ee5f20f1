//! Helpers shared by the Notion protocol tests: settings, a provider aimed at wiremock, the
//! broker's HTTP client, the expected Basic header.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tether_broker::oauth::ProviderHttp;
use tether_core::provider::ProviderSettings;
use tether_core::secret::ClientSecret;
use tether_provider_notion::NotionProvider;
use wiremock::MockServer;

pub const CLIENT_ID: &str = "1a2b3c4d-0000-4000-8000-00000000abcd";
pub const CLIENT_SECRET: &str = "secret_AbC123xyz";
pub const REDIRECT: &str = "https://tether.example.com/api/v1/oauth/notion/callback";

pub fn settings() -> ProviderSettings {
    ProviderSettings::new(CLIENT_ID, Some(ClientSecret::new(CLIENT_SECRET)))
}

pub fn provider_at(server: &MockServer) -> NotionProvider {
    let mut s = settings();
    s.endpoints
        .insert("token".into(), format!("{}/v1/oauth/token", server.uri()));
    s.endpoints.insert(
        "revocation".into(),
        format!("{}/v1/oauth/revoke", server.uri()),
    );
    NotionProvider::new(&s, reqwest::Client::new()).unwrap()
}

pub fn http() -> ProviderHttp {
    ProviderHttp::new(Duration::from_secs(5)).unwrap()
}

pub fn basic() -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    )
}

pub fn json_body(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("the request body is JSON")
}
