//! The console as the assembled server serves it: pages that need the API's use-cases
//! (webhooks) and the audit log, signed in through the real sign-in form.

use std::time::Duration;

use reqwest::StatusCode;
use standardwebhooks::Webhook;
use tether_core::console::ConsoleRole;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::console_support::ConsoleBrowser;
use crate::support::{
    Mode, TestServer, browser, client, connect, expect_error, get_json, user_jwt,
};

const LOOPBACK: &str =
    "webhooks_allow_http = true\nwebhooks_allow_private = true\nwebhooks_poll_interval_ms = 50\n";

/// The text of the element `<… id="{id}">…</…>` (no nested tags).
fn element_text(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("#{id} in {page}"));
    let rest = &page[at + marker.len()..];
    rest[..rest.find('<').unwrap()].to_owned()
}

/// Polls until `check` gives a value (deadline 20 s): the test waits for the thing itself.
async fn eventually<T, Fut: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> Fut,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn received(receiver: &MockServer, n: usize) -> Vec<Request> {
    eventually(&format!("{n} webhook requests"), || async {
        let got = receiver.received_requests().await.unwrap_or_default();
        (got.len() >= n).then_some(got)
    })
    .await
}

fn verifies(secret: &str, request: &Request) -> bool {
    Webhook::new(secret)
        .unwrap()
        .verify(&request.body, &request.headers)
        .is_ok()
}

async fn a_console_user_signs_in_and_forms_without_csrf_are_refused(mode: Mode) {
    let server = TestServer::start(mode).await;
    let admin = ConsoleBrowser::sign_in(&server, ConsoleRole::Admin, "").await;
    let (status, page) = admin.get("/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("Signed in as <strong>{}</strong>", admin.username)));

    let forged = admin.post_without_csrf("/console/sign-out", &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let (status, _) = admin.get("/console").await;
    assert_eq!(status, StatusCode::OK, "still signed in");

    let staff = ConsoleBrowser::sign_in(&server, ConsoleRole::Staff, "openemr:clinic-a").await;
    assert_ne!(staff.account_id, admin.account_id);
    let (status, _) = staff.get("/console/api-keys").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let out = admin.post_form("/console/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.location.unwrap().starts_with("/console/sign-in"));
    let after = admin.open("/console").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "{:?}", after.headers);
}

async fn admins_manage_webhook_endpoints_and_see_their_secret_once(mode: Mode) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let server = TestServer::with(mode, LOOPBACK).await;
    let admin = ConsoleBrowser::sign_in(&server, ConsoleRole::Admin, "").await;
    let (status, page) = admin.get("/console/webhooks").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("No webhook endpoints yet."));
    assert!(page.contains("href=\"/console/webhooks\" aria-current=\"page\""));

    let url = format!("{}/hooks", receiver.uri());
    let fields = [
        ("url", url.as_str()),
        ("description", "assistant backend"),
        ("event_types", "integration.connected"),
        ("event_types", "integration.revoked"),
    ];
    let forged = admin.post_without_csrf("/console/webhooks", &fields).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let refused = admin
        .post_form(
            "/console/webhooks",
            &[("url", "ftp://example.com/x"), ("description", "kept")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("role=\"alert\""));
    assert!(refused.body.contains("value=\"kept\""), "the form is kept");
    let (_, page) = admin.get("/console/webhooks").await;
    assert!(
        page.contains("No webhook endpoints yet."),
        "nothing was made"
    );

    let created = admin.post_form("/console/webhooks", &fields).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let secret = element_text(&created.body, "new-secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let link = created.body.find("href=\"/console/webhooks/").unwrap() + "href=\"".len();
    let endpoint = created.body[link..created.body[link..].find('"').unwrap() + link].to_owned();
    let (status, list) = admin.get("/console/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(&url) && list.contains("enabled"));
    assert!(list.contains("integration.connected, integration.revoked"));
    let (status, detail) = admin.get(&endpoint).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    for page in [&list, &detail] {
        assert!(!page.contains(&secret), "the secret is shown once only");
        assert!(!page.contains("whsec_"));
    }

    // A test event, signed with the secret.
    let tested = admin.post_form(&format!("{endpoint}/test"), &[]).await;
    assert_eq!(tested.status, StatusCode::OK, "{}", tested.body);
    assert!(
        tested
            .body
            .contains("The endpoint accepted the test event.")
    );
    let got = received(&receiver, 1).await;
    assert!(verifies(&secret, &got[0]));

    // A real event is delivered and listed; redelivering sends it again.
    connect(&server, &browser(), &user_jwt("alice"), "google", "alice").await;
    received(&receiver, 2).await;
    let delivered = eventually("the delivery on the endpoint's page", || async {
        let (_, page) = admin.get(&endpoint).await;
        (page.contains("integration.connected") && page.contains("delivered")).then_some(page)
    })
    .await;
    let action = delivered.find("/redeliver\"").unwrap();
    let start = delivered[..action].rfind("action=\"").unwrap() + "action=\"".len();
    let redeliver = format!("{}/redeliver", &delivered[start..action]);
    let forged = admin.post_without_csrf(&redeliver, &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let queued = admin.post_form(&redeliver, &[]).await;
    assert_eq!(queued.status, StatusCode::SEE_OTHER, "{}", queued.body);
    assert!(
        queued
            .location
            .unwrap()
            .ends_with("notice=redelivery-queued")
    );
    let got = received(&receiver, 3).await;
    assert_eq!(got[2].body, got[1].body, "the same event again");

    // Rotating shows the new secret once.
    let rotated = admin
        .post_form(&format!("{endpoint}/rotate-secret"), &[])
        .await;
    assert_eq!(rotated.status, StatusCode::OK);
    let new_secret = element_text(&rotated.body, "new-secret");
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    let (_, detail) = admin.get(&endpoint).await;
    assert!(!detail.contains(&new_secret) && detail.contains("Previous secret"));

    // Disable, enable.
    let disabled = admin.post_form(&format!("{endpoint}/disable"), &[]).await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    let (_, detail) = admin.get(&disabled.location.unwrap()).await;
    assert!(detail.contains("The webhook endpoint was disabled"));
    assert!(detail.contains("Disabled by an operator.") && detail.contains(">Enable<"));
    let enabled = admin.post_form(&format!("{endpoint}/enable"), &[]).await;
    assert_eq!(enabled.status, StatusCode::SEE_OTHER);
    let (_, detail) = admin.get(&endpoint).await;
    assert!(detail.contains(">Disable<"));

    // Every change is in the audit log under the console account.
    let (status, audit) = admin
        .get(&format!(
            "/console/audit?actor_kind=console&actor_id={}",
            admin.account_id
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    for action in [
        "webhook_endpoint_created",
        "webhook_test_sent",
        "webhook_redelivery",
        "webhook_secret_rotated",
        "webhook_endpoint_changed",
    ] {
        assert!(audit.contains(&format!("<td>{action}</td>")), "{action}");
    }
    assert!(!audit.contains(&secret) && !audit.contains(&new_secret));
    // The API's audit query filters by actor the same way.
    let key = server.api_key("admin").await;
    let records = get_json(
        &server.url(&format!(
            "/api/v1/audit?actor_kind=console&actor_id={}&limit=1000",
            admin.account_id
        )),
        &key,
    )
    .await;
    let records = records.as_array().unwrap();
    assert!(records.len() >= 6, "{records:?}");
    assert!(
        records
            .iter()
            .all(|r| r["actor"] == "console"
                && r["actor_id"] == admin.account_id.to_string().as_str())
    );
    let bad = client()
        .get(server.url("/api/v1/audit?actor_kind=robot"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    expect_error(bad, StatusCode::BAD_REQUEST, "invalid_request").await;

    // Staff get none of it.
    let staff = ConsoleBrowser::sign_in(&server, ConsoleRole::Staff, "").await;
    let (_, overview) = staff.get("/console").await;
    assert!(!overview.contains("/console/webhooks"));
    for path in ["/console/webhooks", endpoint.as_str(), "/console/audit"] {
        let (status, _) = staff.get(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let refused = staff.post_form(&format!("{endpoint}/disable"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let (_, detail) = admin.get(&endpoint).await;
    assert!(detail.contains(">Disable<"), "still enabled");
}

crate::both_modes!(
    a_console_user_signs_in_and_forms_without_csrf_are_refused,
    admins_manage_webhook_endpoints_and_see_their_secret_once,
);
