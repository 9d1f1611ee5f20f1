//! The console's provider and integration pages against the assembled server: practice staff
//! configure their OpenEMR site against a fake OpenEMR (wiremock) — discover, register, test
//! (a working and a refused client) — and nothing else; admins search integrations, open one,
//! refresh, test and disconnect it.

use reqwest::StatusCode;
use serde_json::json;
use tether_core::console::ConsoleRole;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::connect_sessions::{create, link, open, pick};
use crate::console_support::ConsoleBrowser;
use crate::support::{Mode, TestServer, browser, connect, get_json, user_jwt};

const CLIENT_ID: &str = "emr-client-7";
const CLIENT_SECRET: &str = "emr-secret-that-openemr-showed-once";

/// Whether a token request carries the registered client's credentials in its body (the
/// fake site advertises `client_secret_post` only).
struct RegisteredClient;

impl wiremock::Match for RegisteredClient {
    fn matches(&self, request: &Request) -> bool {
        let body = String::from_utf8_lossy(&request.body);
        body.contains(&format!("client_id={CLIENT_ID}"))
            && body.contains(&format!("client_secret={CLIENT_SECRET}"))
    }
}

/// An OpenEMR site on loopback: a SMART configuration, dynamic registration, and a token
/// endpoint that knows one client (the probe's made-up refresh token gets `invalid_grant`
/// from it, `invalid_client` from anyone else).
async fn fake_openemr() -> MockServer {
    let site = MockServer::start().await;
    let base = site.uri();
    let oauth = format!("{base}/oauth2/default");
    Mock::given(method("GET"))
        .and(path("/apis/default/fhir/.well-known/smart-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": oauth,
            "authorization_endpoint": format!("{oauth}/authorize"),
            "token_endpoint": format!("{oauth}/token"),
            "registration_endpoint": format!("{oauth}/registration"),
            "capabilities": ["launch-standalone", "permission-v2"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        })))
        .mount(&site)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth2/default/registration"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": "openid fhirUser offline_access api:fhir patient/Patient.rs",
        })))
        .expect(1)
        .mount(&site)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth2/default/token"))
        .and(RegisteredClient)
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": "invalid_grant" })))
        .with_priority(1)
        .mount(&site)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth2/default/token"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({ "error": "invalid_client" })),
        )
        .with_priority(5)
        .mount(&site)
        .await;
    site
}

async fn staff_configure_their_openemr_site_and_nothing_else(mode: Mode) {
    let server = TestServer::start(mode).await;
    let site = fake_openemr().await;
    let staff = ConsoleBrowser::sign_in(&server, ConsoleRole::Staff, "openemr:clinic-a").await;
    let page_path = "/console/providers/openemr:clinic-a";

    // Only their instance is listed; every other page and provider is refused.
    let (status, list) = staff.get("/console/providers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(page_path), "{list}");
    assert!(!list.contains("/console/providers/notion"), "{list}");
    for other in [
        "/console/providers/notion",
        "/console/providers/openemr:clinic-b",
        "/console/integrations",
        "/console/api-keys",
        "/console/accounts",
    ] {
        let (status, _) = staff.get(other).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{other}");
    }
    let elsewhere = staff
        .post_form(
            "/console/providers/openemr:clinic-b",
            &[("client_id", "x"), ("site_url", &site.uri())],
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);

    // Discover the site: what Tether will use there, nothing stored yet.
    let found = staff
        .post_form(
            &format!("{page_path}/discover"),
            &[("site_url", &site.uri()), ("site_name", "")],
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(
        found.body.contains("publishes a SMART configuration"),
        "{}",
        found.body
    );
    assert!(found.body.contains("/oauth2/default/token"));
    assert!(found.body.contains("SMART v2"));
    let (_, page) = staff.get(page_path).await;
    assert!(page.contains("not configured"), "{page}");

    // A forged form changes nothing.
    let forged = staff
        .post_without_csrf(
            &format!("{page_path}/register"),
            &[("site_url", &site.uri()), ("client_name", "Tether")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Register: the credentials are stored at once, the secret never shown.
    let registered = staff
        .post_form(
            &format!("{page_path}/register"),
            &[
                ("site_url", &site.uri()),
                ("site_name", ""),
                ("client_name", "Tether"),
                ("contacts", "it@clinic-a.example"),
            ],
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.body);
    assert!(registered.body.contains(CLIENT_ID), "{}", registered.body);
    assert!(registered.body.contains("Next steps"));
    assert!(!registered.body.contains(CLIENT_SECRET));
    let (_, page) = staff.get(page_path).await;
    assert!(
        page.contains("configured in Tether (stored, enabled)"),
        "{page}"
    );
    assert!(page.contains(CLIENT_ID));
    assert!(
        !page.contains(CLIENT_SECRET),
        "the secret is never shown again"
    );

    // The test reaches the site and the token endpoint accepts the client.
    let test = staff.post_form(&format!("{page_path}/test"), &[]).await;
    assert_eq!(test.status, StatusCode::OK);
    assert!(test.body.contains("The connection works"), "{}", test.body);
    assert!(test.body.contains("accepted the client credentials"));

    // A wrong secret: saved (it builds), then the test says what failed and what to do.
    let saved = staff
        .post_form(
            page_path,
            &[
                ("client_id", CLIENT_ID),
                ("client_secret", "a-mistyped-secret"),
                ("site_url", &site.uri()),
                ("options", ""),
                ("endpoints", ""),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let failed = staff.post_form(&format!("{page_path}/test"), &[]).await;
    assert!(
        failed.body.contains("The connection test failed"),
        "{}",
        failed.body
    );
    assert!(failed.body.contains("refused the configuration"));
    assert!(failed.body.contains("API Clients"), "{}", failed.body);
    assert!(!failed.body.contains("a-mistyped-secret"));

    // A configuration that cannot work is refused with the reason and not stored.
    let refused = staff
        .post_form(
            page_path,
            &[
                ("client_id", CLIENT_ID),
                ("site_url", "http://emr.clinic-a.example"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("must use https"), "{}", refused.body);

    // Every change is in the audit trail with the console account as actor.
    let admin_key = server.api_key("admin").await;
    let audit = get_json(
        &server.url("/api/v1/audit?action=provider_config_changed"),
        &admin_key,
    )
    .await;
    let changes = audit.as_array().unwrap();
    assert_eq!(changes.len(), 2, "register and one save: {audit}");
    let staff_id = staff.account_id.to_string();
    assert!(
        changes
            .iter()
            .all(|r| r["actor"] == "console" && r["actor_id"] == staff_id.as_str()),
        "{audit}"
    );
}

async fn admins_find_an_integration_and_refresh_test_and_disconnect_it(mode: Mode) {
    let server = TestServer::start(mode).await;
    let user = format!("console-user-{}", uuid::Uuid::new_v4().simple());
    let connected = connect(&server, &browser(), &user_jwt(&user), "google", "ada").await;
    let id = connected.integration_id;
    let admin = ConsoleBrowser::sign_in(&server, ConsoleRole::Admin, "").await;

    let (status, found) = admin
        .get(&format!(
            "/console/integrations?user_id={user}&provider=google"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        found.contains(&format!("/console/integrations/{id}")),
        "{found}"
    );
    let (_, none) = admin
        .get(&format!(
            "/console/integrations?user_id={user}&status=revoked"
        ))
        .await;
    assert!(!none.contains(&format!("/console/integrations/{id}")));
    let (status, bad) = admin.get("/console/integrations?provider=myspace").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.contains("Provider"), "{bad}");

    let detail_path = format!("/console/integrations/{id}");
    let (status, detail) = admin.get(&detail_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(detail.contains("Working"), "{detail}");
    assert!(detail.contains("Permissions") && detail.contains("Granted"));
    assert!(
        detail.contains("integration.connected"),
        "status history: {detail}"
    );
    assert!(detail.contains("Consents"));

    let forged = admin
        .post_without_csrf(&format!("{detail_path}/refresh"), &[])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let refreshed = admin
        .post_form(&format!("{detail_path}/refresh"), &[])
        .await;
    assert_eq!(
        refreshed.status,
        StatusCode::SEE_OTHER,
        "{}",
        refreshed.body
    );
    let (_, after) = admin.get(&refreshed.location.unwrap()).await;
    assert!(after.contains("The integration was refreshed"), "{after}");

    let tested = admin.post_form(&format!("{detail_path}/test"), &[]).await;
    assert_eq!(tested.status, StatusCode::OK);
    assert!(
        tested.body.contains("Connection test passed"),
        "{}",
        tested.body
    );

    let (status, confirm) = admin.get(&format!("{detail_path}/disconnect")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains(&user) && confirm.contains("Cancel"));
    let done = admin
        .post_form(&format!("{detail_path}/disconnect"), &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let (_, gone) = admin.get(&done.location.unwrap()).await;
    assert!(gone.contains("Disconnected"), "{gone}");
    assert!(gone.contains("<strong>revoked</strong>"), "{gone}");
    assert!(!gone.contains("Refresh now"));

    // The product sees the same: the integration is revoked.
    let key = server.api_key("admin").await;
    let shown = get_json(&server.url(&format!("/api/v1/integrations/{id}")), &key).await;
    assert_eq!(shown["status"], "revoked", "{shown}");
}

async fn a_connect_session_offers_a_clinics_openemr_site(mode: Mode) {
    let server = TestServer::start(mode).await;
    let site = fake_openemr().await;
    // The clinic's staff registered the site in the console.
    let staff = ConsoleBrowser::sign_in(&server, ConsoleRole::Staff, "openemr:clinic-a").await;
    let registered = staff
        .post_form(
            "/console/providers/openemr:clinic-a/register",
            &[("site_url", &site.uri()), ("client_name", "Tether")],
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.body);

    let key = server.api_key("service").await;
    let body = |instances: serde_json::Value| {
        json!({
            "user_id": "patient-portal-user",
            "providers": ["openemr"],
            "instances": instances,
            "return_to": format!("{}/connect-done", crate::support::RETURN_TO),
        })
    };
    // Sessions for a site that is not configured, or with a malformed instance, are refused.
    for (instances, code) in [
        (json!({ "openemr": "clinic-z" }), "provider_not_configured"),
        (json!({ "openemr": "a/b" }), "invalid_instance"),
        (json!({ "notion": "workspace" }), "invalid_request"),
    ] {
        let refused = create(&server, &key, &body(instances.clone())).await;
        crate::support::expect_error(refused, StatusCode::BAD_REQUEST, code).await;
    }

    // The page names the site; picking it starts the flow at that site's authorize endpoint.
    let url = link(&server, &key, &body(json!({ "openemr": "clinic-a" }))).await;
    let user = browser();
    let (status, page) = open(&user, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("OpenEMR — clinic-a"), "{page}");
    let flow = pick(&server, &user, &url, "openemr").await;
    assert!(
        flow.authorize
            .as_str()
            .starts_with(&format!("{}/oauth2/default/authorize?", site.uri())),
        "{}",
        flow.authorize
    );
    let params = crate::support::query(&flow.authorize);
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(
        params["redirect_uri"],
        server.url("/api/v1/oauth/openemr/callback")
    );
}

crate::both_modes!(
    a_connect_session_offers_a_clinics_openemr_site,
    staff_configure_their_openemr_site_and_nothing_else,
    admins_find_an_integration_and_refresh_test_and_disconnect_it,
);
