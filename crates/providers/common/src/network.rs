//! A transport failure (DNS, connect, TLS, timeout, a broken body) as the core `Network`
//! class. reqwest's own message names the URL, whose query can carry a secret: the message
//! here says what kind of failure it was and the innermost cause only.

use tether_core::provider::ProviderError;

/// `e` as `ProviderError::Network`; `target` names what was called ("Dexcom",
/// "Microsoft Graph /me", "the OpenEMR site").
pub fn network_error(target: &str, e: &reqwest::Error) -> ProviderError {
    let message = if e.is_timeout() {
        format!("the request to {target} timed out")
    } else if e.is_connect() {
        format!("could not connect to {target}")
    } else if e.is_body() || e.is_decode() {
        format!("reading the answer of {target} failed")
    } else {
        format!("the request to {target} failed: {}", innermost(e))
    };
    ProviderError::Network { message }
}

/// The innermost cause's text: deeper than reqwest's own, so without the URL.
pub(crate) fn innermost(e: &reqwest::Error) -> String {
    let mut last = "transport error".to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_is_named_without_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/x?code=secret"))
            .send()
            .await
            .unwrap_err();
        let mapped = network_error("Dexcom", &err);
        assert!(matches!(mapped, ProviderError::Network { .. }));
        let text = mapped.to_string();
        assert!(text.contains("could not connect to Dexcom"), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
}
