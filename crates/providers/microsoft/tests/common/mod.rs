//! Helpers shared by the Microsoft protocol tests: settings, a provider aimed at wiremock,
//! the broker's HTTP client, form bodies.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use std::collections::BTreeMap;
use std::time::Duration;

use tether_broker::oauth::ProviderHttp;
use tether_core::provider::ProviderSettings;
use tether_core::secret::ClientSecret;
use tether_provider_microsoft::MicrosoftProvider;
use wiremock::MockServer;

pub const REDIRECT: &str = "https://tether.example.com/api/v1/oauth/microsoft/callback";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const TOKEN_PATH: &str = "/contoso.onmicrosoft.com/oauth2/v2.0/token";

pub fn settings() -> ProviderSettings {
    let mut s = ProviderSettings::new("app-id", Some(ClientSecret::new("s3cr~et+/=")));
    s.options
        .insert("tenant".into(), "contoso.onmicrosoft.com".into());
    s
}

pub fn provider_at(server: &MockServer) -> MicrosoftProvider {
    let mut s = settings();
    s.endpoints
        .insert("token".into(), format!("{}{TOKEN_PATH}", server.uri()));
    MicrosoftProvider::new(&s, reqwest::Client::new()).unwrap()
}

pub fn http() -> ProviderHttp {
    ProviderHttp::new(Duration::from_secs(5)).unwrap()
}

pub fn form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

pub fn pairs(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
