//! Shared test fixtures: a provider pointed at wiremock and a counting app-token source.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use tether_core::provider::{AppTokenSource, ProviderError, ProviderSettings};
use tether_core::secret::{AccessToken, ClientSecret};
use tether_provider_orange::OrangeProvider;
use wiremock::MockServer;

pub fn provider(server: &MockServer, options: &[(&str, &str)]) -> OrangeProvider {
    let mut s = ProviderSettings::new("orange-id", Some(ClientSecret::new("orange-secret")));
    s.endpoints
        .insert("token".into(), format!("{}/oauth/v3/token", server.uri()));
    s.endpoints.insert("api_base".into(), server.uri());
    for (k, v) in options {
        s.options.insert((*k).into(), (*v).into());
    }
    OrangeProvider::new(&s, reqwest::Client::new()).unwrap()
}

/// Hands out `token-1`; a rejection renews to `token-2`, `token-3`, … and is counted.
#[derive(Debug, Default)]
pub struct CountingTokens {
    current: Mutex<usize>,
    pub renewals: AtomicUsize,
    pub rejected: Mutex<Vec<String>>,
}

impl CountingTokens {
    pub fn renewals(&self) -> usize {
        self.renewals.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl AppTokenSource for CountingTokens {
    async fn token(&self) -> Result<AccessToken, ProviderError> {
        let n = *self.current.lock().unwrap();
        Ok(AccessToken::new(format!("token-{}", n + 1)))
    }

    async fn token_rejected(&self, rejected: &AccessToken) -> Result<AccessToken, ProviderError> {
        self.renewals.fetch_add(1, Ordering::SeqCst);
        self.rejected
            .lock()
            .unwrap()
            .push(rejected.expose_secret().to_owned());
        let mut n = self.current.lock().unwrap();
        *n += 1;
        Ok(AccessToken::new(format!("token-{}", *n + 1)))
    }
}

pub const EXPIRED: &str = r#"{"code":42,"message":"Expired credentials","description":"The requested service needs credentials, and the ones provided were out-of-date."}"#;
