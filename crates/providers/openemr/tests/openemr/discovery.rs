//! SMART discovery: used when the site serves it, the documented paths when it does not.

use tether_core::provider::{ClientAuthMethod, Provider, ProviderError};
use tether_provider_openemr::{OpenEmrProvider, ScopeSyntax};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{http, serve_smart_configuration, settings, smart_configuration};

async fn discover(server: &MockServer) -> Result<OpenEmrProvider, ProviderError> {
    OpenEmrProvider::discover(&settings(server), http().client().clone()).await
}

#[tokio::test]
async fn the_advertised_endpoints_and_capabilities_are_used() {
    let server = MockServer::start().await;
    let base = server.uri();
    let mut doc = smart_configuration(&base);
    doc["token_endpoint"] = format!("{base}/oauth2/default/token-v2").into();
    doc["issuer"] = format!("{base}/oauth2/default/").into();
    doc["authorization_response_iss_parameter_supported"] = true.into();
    serve_smart_configuration(&server, doc).await;

    let provider = discover(&server).await.unwrap();
    let endpoints = provider.endpoints();
    assert_eq!(
        endpoints.token_url,
        format!("{base}/oauth2/default/token-v2")
    );
    assert_eq!(
        endpoints.issuer.as_deref(),
        Some(format!("{base}/oauth2/default/").as_str())
    );
    assert_eq!(
        endpoints.revocation_url.as_deref(),
        Some(format!("{base}/oauth2/default/revoke").as_str())
    );
    assert_eq!(endpoints.api_base_url, format!("{base}/apis/default/fhir"));
    assert_eq!(
        provider.registration_url(),
        format!("{base}/oauth2/default/registration")
    );
    assert_eq!(provider.scope_syntax(), ScopeSyntax::V2);
    assert_eq!(provider.client_auth_method(), ClientAuthMethod::Post);
    let capabilities = provider.capabilities();
    assert!(capabilities.revocation && capabilities.pkce && capabilities.rotates_refresh_tokens);
    assert!(capabilities.requires_issuer_parameter);
    assert!(provider.smart_configuration().is_some());
    assert_eq!(provider.instance(), "clinic-a");
}

#[tokio::test]
async fn a_site_without_smart_configuration_gets_the_documented_paths() {
    for answer in [
        ResponseTemplate::new(404).set_body_string("Not Found"),
        ResponseTemplate::new(200).set_body_string("<html>OpenEMR login</html>"),
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"issuer": "x"})),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/apis/default/fhir/.well-known/smart-configuration"))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let provider = discover(&server).await.unwrap();
        let base = server.uri();
        let endpoints = provider.endpoints();
        assert_eq!(
            endpoints.authorize_url.as_deref(),
            Some(format!("{base}/oauth2/default/authorize").as_str())
        );
        assert_eq!(endpoints.token_url, format!("{base}/oauth2/default/token"));
        assert_eq!(
            endpoints.userinfo_url.as_deref(),
            Some(format!("{base}/oauth2/default/userinfo").as_str())
        );
        assert_eq!(
            endpoints.issuer.as_deref(),
            Some(format!("{base}/oauth2/default").as_str())
        );
        assert_eq!(
            endpoints.revocation_url, None,
            "no advertised revocation: none"
        );
        assert!(!provider.capabilities().revocation);
        assert_eq!(provider.scope_syntax(), ScopeSyntax::V1);
        assert!(provider.smart_configuration().is_none());
    }
}

#[tokio::test]
async fn an_unreachable_or_failing_site_is_an_error_not_a_fallback() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let err = discover(&server).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");

    let mut gone = settings(&server);
    gone.options
        .insert("site_url".to_owned(), "http://127.0.0.1:9".to_owned());
    let err = OpenEmrProvider::discover(&gone, http().client().clone())
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Network { .. }), "{err:?}");
}

#[tokio::test]
async fn discovered_endpoints_on_another_server_are_refused() {
    let server = MockServer::start().await;
    let mut doc = smart_configuration(&server.uri());
    doc["token_endpoint"] = "https://attacker.example/token".into();
    serve_smart_configuration(&server, doc).await;
    let err = discover(&server).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Misconfigured { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Site Address"), "{err}");
}

#[tokio::test]
async fn endpoint_overrides_win_over_discovery_and_options_over_capabilities() {
    let server = MockServer::start().await;
    serve_smart_configuration(&server, smart_configuration(&server.uri())).await;
    let mut settings = settings(&server);
    settings.endpoints.insert(
        "token".to_owned(),
        "https://proxy.clinic-a.example/token".to_owned(),
    );
    settings
        .options
        .insert("scope_syntax".to_owned(), "v1".to_owned());
    settings
        .options
        .insert("revocation".to_owned(), "false".to_owned());
    let provider = OpenEmrProvider::discover(&settings, http().client().clone())
        .await
        .unwrap();
    assert_eq!(
        provider.endpoints().token_url,
        "https://proxy.clinic-a.example/token"
    );
    assert_eq!(provider.scope_syntax(), ScopeSyntax::V1);
    assert!(!provider.capabilities().revocation);
}

#[tokio::test]
async fn bad_settings_are_refused_by_name() {
    let server = MockServer::start().await;
    let client = http().client().clone();
    let mut unknown = settings(&server);
    unknown.options.insert("tenant".to_owned(), "x".to_owned());
    let err = OpenEmrProvider::new(&unknown, client.clone()).unwrap_err();
    assert!(err.to_string().contains("unknown option `tenant`"), "{err}");

    let mut no_site = settings(&server);
    no_site.options.clear();
    let err = OpenEmrProvider::new(&no_site, client.clone()).unwrap_err();
    assert!(err.to_string().contains("`site_url` is required"), "{err}");

    let mut no_secret = settings(&server);
    no_secret.client.client_secret = None;
    let err = OpenEmrProvider::new(&no_secret, client.clone()).unwrap_err();
    assert!(err.to_string().contains("confidential"), "{err}");

    for (option, value) in [
        ("revocation", "maybe"),
        ("scope_syntax", "v3"),
        ("client_auth", "private_key_jwt"),
    ] {
        let mut bad = settings(&server);
        bad.options.insert(option.to_owned(), value.to_owned());
        let err = OpenEmrProvider::new(&bad, client.clone()).unwrap_err();
        assert!(err.to_string().contains(&format!("`{option}`")), "{err}");
    }

    let mut plain = settings(&server);
    plain.options.insert(
        "site_url".to_owned(),
        "http://emr.clinic-a.example".to_owned(),
    );
    let err = OpenEmrProvider::new(&plain, client).unwrap_err();
    assert!(err.to_string().contains("https"), "{err}");
}

#[tokio::test]
async fn a_site_advertising_only_basic_auth_gets_basic() {
    let server = MockServer::start().await;
    let mut doc = smart_configuration(&server.uri());
    doc["token_endpoint_auth_methods_supported"] = serde_json::json!(["client_secret_basic"]);
    serve_smart_configuration(&server, doc).await;
    let provider = discover(&server).await.unwrap();
    assert_eq!(provider.client_auth_method(), ClientAuthMethod::Basic);
}
