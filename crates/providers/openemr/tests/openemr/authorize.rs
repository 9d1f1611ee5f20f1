//! The authorize URL, exactly as the browser is sent to it.

use tether_broker::oauth::provider_authorize_url;
use tether_core::ScopeSet;
use tether_core::provider::Provider;
use tether_provider_openemr::OpenEmrProvider;
use url::Url;
use wiremock::MockServer;

use crate::support::{http, provider, serve_smart_configuration, settings, smart_configuration};

/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn redirect() -> Url {
    Url::parse("https://tether.example.com/api/v1/oauth/openemr/callback").unwrap()
}

#[tokio::test]
async fn the_authorize_url_carries_aud_pkce_nonce_and_the_openemr_callback() {
    let server = MockServer::start().await;
    let provider = provider(&server);
    let url = provider_authorize_url(
        &provider,
        &redirect(),
        "state-1",
        Some(VERIFIER),
        &provider.default_scopes(),
        None,
        "nonce-1",
    )
    .unwrap();
    let base = server.uri();
    let fhir = url::form_urlencoded::byte_serialize(format!("{base}/apis/default/fhir").as_bytes())
        .collect::<String>();
    assert_eq!(
        url.as_str(),
        format!(
            "{base}/oauth2/default/authorize?response_type=code&client_id=client-1&state=state-1\
             &code_challenge={CHALLENGE}&code_challenge_method=S256\
             &redirect_uri=https%3A%2F%2Ftether.example.com%2Fapi%2Fv1%2Foauth%2Fopenemr%2Fcallback\
             &scope=api%3Afhir+fhirUser+offline_access+openid+user%2FPatient.read\
             &aud={fhir}&nonce=nonce-1"
        )
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "new() must not call the site"
    );
}

#[tokio::test]
async fn a_discovered_v2_site_gets_v2_scopes_at_its_advertised_authorize_endpoint() {
    let server = MockServer::start().await;
    let mut doc = smart_configuration(&server.uri());
    doc["authorization_endpoint"] = format!("{}/oauth2/default/authorize2", server.uri()).into();
    serve_smart_configuration(&server, doc).await;
    let provider = OpenEmrProvider::discover(&settings(&server), http().client().clone())
        .await
        .unwrap();
    let scopes = provider.default_scopes();
    assert!(
        scopes.iter().any(|s| s.as_str() == "user/Patient.rs"),
        "{scopes:?}"
    );
    let url = provider_authorize_url(
        &provider,
        &redirect(),
        "s",
        Some(VERIFIER),
        &scopes,
        None,
        "n",
    )
    .unwrap();
    assert_eq!(url.path(), "/oauth2/default/authorize2");
    let aud = url
        .query_pairs()
        .find(|(k, _)| k == "aud")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(aud, format!("{}/apis/default/fhir", server.uri()));
}

#[tokio::test]
async fn v1_scopes_requested_by_a_caller_are_sent_as_given() {
    let server = MockServer::start().await;
    let provider = provider(&server);
    let scopes = ScopeSet::parse_delimited(
        "openid fhirUser offline_access api:fhir patient/Patient.rs launch/patient",
    )
    .unwrap();
    let url = provider_authorize_url(
        &provider,
        &redirect(),
        "s",
        Some(VERIFIER),
        &scopes,
        None,
        "n",
    )
    .unwrap();
    let scope = url
        .query_pairs()
        .find(|(k, _)| k == "scope")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(
        scope,
        "api:fhir fhirUser launch/patient offline_access openid patient/Patient.rs"
    );
}
