//! A fake OpenEMR site and the settings, provider and tokens the tests share.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tether_broker::ProviderHttp;
use tether_core::provider::ProviderSettings;
use tether_core::secret::ClientSecret;
use tether_oidc::testing::{jwks_unnamed, sign_unnamed};
use tether_provider_openemr::OpenEmrProvider;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const CLIENT_ID: &str = "client-1";
/// Reserved characters on purpose: Basic and form encodings must both survive them.
pub const CLIENT_SECRET: &str = "s3cr+t/=&x";

pub fn http() -> ProviderHttp {
    ProviderHttp::new(Duration::from_secs(5)).unwrap()
}

/// Settings for the site served by `server`, instance `clinic-a`.
pub fn settings(server: &MockServer) -> ProviderSettings {
    let mut settings = ProviderSettings::new(CLIENT_ID, Some(ClientSecret::new(CLIENT_SECRET)));
    settings.instance = "clinic-a".to_owned();
    settings
        .options
        .insert("site_url".to_owned(), format!("{}/", server.uri()));
    settings
}

pub fn provider(server: &MockServer) -> OpenEmrProvider {
    OpenEmrProvider::new(&settings(server), http().client().clone()).unwrap()
}

pub fn with_option(mut settings: ProviderSettings, name: &str, value: &str) -> ProviderSettings {
    settings.options.insert(name.to_owned(), value.to_owned());
    settings
}

/// The nonce the tests' sign-ins sent.
pub const NONCE: &str = "nonce-of-this-sign-in";

/// An ID token of the site served by `server`, signed with the committed test key as OpenEMR
/// signs (no `kid` in the header): `claims`
/// plus, unless they set them, the site's issuer, our client as audience, a subject, `NONCE`
/// and an expiry an hour away (`null` removes a claim).
pub fn id_token(server: &MockServer, claims: &Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut all = json!({
        "iss": format!("{}/oauth2/default", server.uri()), "aud": CLIENT_ID, "sub": "u-1",
        "nonce": NONCE, "iat": now, "exp": now + 3600
    });
    for (k, v) in claims.as_object().unwrap() {
        if v.is_null() {
            all.as_object_mut().unwrap().remove(k);
        } else {
            all[k] = v.clone();
        }
    }
    sign_unnamed(&all)
}

/// `token` with its payload replaced by `claims`, the signature kept: a forgery.
pub fn forged(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// The site's key set at its documented path, `/oauth2/default/jwk`, as OpenEMR publishes
/// it: one key, no `kid`.
pub async fn serve_keys(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/oauth2/default/jwk"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks_unnamed()))
        .mount(server)
        .await;
}

/// The SMART configuration a current OpenEMR serves for the site at `base`.
pub fn smart_configuration(base: &str) -> Value {
    json!({
        "issuer": format!("{base}/oauth2/default"),
        "authorization_endpoint": format!("{base}/oauth2/default/authorize"),
        "token_endpoint": format!("{base}/oauth2/default/token"),
        "revocation_endpoint": format!("{base}/oauth2/default/revoke"),
        "registration_endpoint": format!("{base}/oauth2/default/registration"),
        "userinfo_endpoint": format!("{base}/oauth2/default/userinfo"),
        "introspection_endpoint": format!("{base}/oauth2/default/introspect"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "fhirUser", "offline_access", "api:fhir", "patient/Patient.rs"],
        "capabilities": ["launch-ehr", "launch-standalone", "client-confidential-symmetric", "permission-v1", "permission-v2", "context-standalone-patient", "sso-openid-connect"]
    })
}

pub async fn serve_smart_configuration(server: &MockServer, body: Value) {
    Mock::given(method("GET"))
        .and(path("/apis/default/fhir/.well-known/smart-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// The form fields of a request body.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    fields.sort();
    fields
}

pub fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    fields.sort();
    fields
}
