//! The hosted connect page over HTTP with a cookie jar: a backend creates a connect session
//! with a service key, the browser opens its link, picks a provider, consents at the sandbox
//! and lands on the result page, which returns to `return_to` or posts to the opener. Single
//! use (also across replicas), expiry by an injected clock, upgrades that keep the
//! integration id, a denied consent, and bad input.

use reqwest::StatusCode;
use serde_json::{Value, json};

mod refusals;

use crate::support::{
    Flow, Mode, RETURN_TO, TestServer, binding_cookie, browser, client, consent, get_json,
    location, query, user_jwt,
};

pub(crate) const APP_ORIGIN: &str = "https://app.example.com";

pub(crate) async fn create(server: &TestServer, key: &str, body: &Value) -> reqwest::Response {
    client()
        .post(server.url("/api/v1/connect-sessions"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Creates a session and answers its link.
pub(crate) async fn link(server: &TestServer, key: &str, body: &Value) -> String {
    let created = create(server, key, body).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let body: Value = created.json().await.unwrap();
    body["url"].as_str().unwrap().to_owned()
}

/// The browser opens the link: the picker page.
pub(crate) async fn open(browser: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let page = browser.get(url).send().await.unwrap();
    let status = page.status();
    if status == StatusCode::OK {
        let csp = page.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        assert_eq!(page.headers()["cache-control"], "no-store");
    }
    (status, page.text().await.unwrap())
}

/// The user picks `provider` on the page: the form post, then the flow's start step.
pub(crate) async fn pick(
    server: &TestServer,
    browser: &reqwest::Client,
    url: &str,
    provider: &str,
) -> Flow {
    let token = query(&url::Url::parse(url).unwrap())["token"].clone();
    let chosen = browser
        .post(server.url("/connect"))
        .form(&[("token", token.as_str()), ("provider", provider)])
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    let start = location(&chosen);
    assert_eq!(
        start.path(),
        format!("/api/v1/oauth/{provider}/start"),
        "the existing start step"
    );
    let to_provider = browser.get(start.as_str()).send().await.unwrap();
    assert_eq!(to_provider.status(), StatusCode::FOUND);
    Flow {
        flow: query(&start)["flow"].clone(),
        cookie: binding_cookie(&to_provider),
        authorize: location(&to_provider),
    }
}

/// The provider's redirect to the callback, then the callback's to the result page: the
/// result page's URL and text.
pub(crate) async fn finish(browser: &reqwest::Client, callback: &url::Url) -> (url::Url, String) {
    let done = browser.get(callback.as_str()).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::FOUND, "{:?}", done.text().await);
    let result = location(&done);
    assert_eq!(result.path(), "/connect/result");
    let page = browser.get(result.as_str()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    (result, page.text().await.unwrap())
}

/// `href="…"` of the page's "Continue" link, unescaped.
pub(crate) fn continue_link(page: &str) -> url::Url {
    let start = page.find("<a href=\"").unwrap() + "<a href=\"".len();
    let end = start + page[start..].find('"').unwrap();
    url::Url::parse(&page[start..end].replace("&amp;", "&")).unwrap()
}

async fn a_backend_connects_a_user_through_the_hosted_page(mode: Mode) {
    let server = TestServer::start(mode).await;
    let service = server.api_key("service").await;
    let created = create(
        &server,
        &service,
        &json!({
            "user_id": "alice",
            "providers": ["google", "notion"],
            "scopes": {"google": ["profile", "items.read"]},
            "return_to": format!("{RETURN_TO}/done"),
        }),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["mode"], "redirect");
    assert_eq!(created["providers"], json!(["google", "notion"]));
    let url = created["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&server.url("/connect?token=")), "{url}");

    let browser = browser();
    let (status, page) = open(&browser, &url).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Continue with Google") && page.contains("Continue with Notion"));
    assert!(page.contains("Read your items"), "plain words: {page}");
    assert!(
        page.contains("(broad access)"),
        "Notion's defaults include a scope marked dangerous: {page}"
    );
    assert!(!page.contains("<script"), "the picker needs no script");

    let flow = pick(&server, &browser, &url, "google").await;
    let asked = query(&flow.authorize)["scope"].clone();
    assert!(
        asked.contains("items.read") && asked.contains("profile") && !asked.contains("items.write"),
        "the session's scopes: {asked}"
    );
    let callback = consent(&browser, &flow, "alice").await;
    let (result, page) = finish(&browser, &callback).await;
    assert_eq!(query(&result)["outcome"], "connected");
    assert!(page.contains("is connected"), "{page}");
    assert!(page.contains("http-equiv=\"refresh\""), "{page}");
    let back = continue_link(&page);
    assert!(
        back.as_str().starts_with(&format!("{RETURN_TO}/done?")),
        "{back}"
    );
    let outcome = query(&back);
    assert_eq!(outcome["outcome"], "connected");
    assert_eq!(outcome["provider"], "google");
    let id = outcome["integration_id"].clone();

    let list = get_json(&server.url("/api/v1/integrations"), &user_jwt("alice")).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["status"], "active");

    // Single use: the link is spent, whether opened or posted again.
    let (status, page) = open(&browser, &url).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("already used"), "{page}");
    let token = query(&url::Url::parse(&url).unwrap())["token"].clone();
    let again = browser
        .post(server.url("/connect"))
        .form(&[("token", token.as_str()), ("provider", "notion")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::GONE);
}

async fn a_popup_session_posts_its_outcome_to_the_allowed_origin_only(mode: Mode) {
    let server = TestServer::start(mode).await;
    let service = server.api_key("service").await;
    let created = create(
        &server,
        &service,
        &json!({ "user_id": "bob", "providers": ["google"], "opener_origin": APP_ORIGIN }),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["mode"], "popup");
    let url = created["url"].as_str().unwrap().to_owned();

    let browser = browser();
    let flow = pick(&server, &browser, &url, "google").await;
    let callback = consent(&browser, &flow, "bob").await;
    let (_, page) = finish(&browser, &callback).await;
    assert!(
        page.contains(&format!("data-origin=\"{APP_ORIGIN}\"")),
        "{page}"
    );
    assert!(page.contains("data-outcome=\"connected\""), "{page}");
    assert!(page.contains("data-provider=\"google\""), "{page}");
    assert!(
        page.contains("<script src=\"/connect/result.js\""),
        "{page}"
    );
    assert_eq!(
        page.matches("<script").count(),
        1,
        "no inline script: {page}"
    );
    let list = get_json(&server.url("/api/v1/integrations"), &user_jwt("bob")).await;
    let id = list[0]["id"].as_str().unwrap();
    assert!(
        page.contains(&format!("data-integration-id=\"{id}\"")),
        "{page}"
    );

    let script = browser
        .get(server.url("/connect/result.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let script = script.text().await.unwrap();
    assert!(script.contains("\"tether:connect\""), "{script}");
    assert!(
        script.contains("postMessage(message, origin)") && !script.contains("\"*\""),
        "posted to the session's origin only: {script}"
    );
}

async fn an_upgrade_adds_scopes_and_keeps_the_integration_id(mode: Mode) {
    let server = TestServer::start(mode).await;
    let service = server.api_key("service").await;
    let browser = browser();
    let first = link(
        &server,
        &service,
        &json!({
            "user_id": "carol",
            "providers": ["google"],
            "scopes": {"google": ["profile", "items.read"]},
            "opener_origin": APP_ORIGIN,
        }),
    )
    .await;
    let flow = pick(&server, &browser, &first, "google").await;
    let callback = consent(&browser, &flow, "carol").await;
    let (result, _) = finish(&browser, &callback).await;
    let id = query(&result)["integration_id"].clone();

    let upgrade = json!({
        "user_id": "carol",
        "opener_origin": APP_ORIGIN,
        "upgrade": {"integration_id": id, "scopes": ["items.write"]},
    });
    let url = link(&server, &service, &upgrade).await;
    let (status, page) = open(&browser, &url).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Allow more access to Google"), "{page}");
    let added = page.find("Added now").unwrap();
    let kept = page.find("Already allowed").unwrap();
    let change = page.find("Change your items").unwrap();
    assert!(
        added < change && change < kept,
        "items.write is what is added: {page}"
    );
    assert!(page.contains("(broad access)"), "{page}");

    let flow = pick(&server, &browser, &url, "google").await;
    let asked = query(&flow.authorize)["scope"].clone();
    for scope in ["profile", "items.read", "items.write"] {
        assert!(asked.split(' ').any(|s| s == scope), "{scope} in {asked}");
    }
    let callback = consent(&browser, &flow, "carol").await;
    let (result, page) = finish(&browser, &callback).await;
    assert_eq!(query(&result)["integration_id"], id, "the same integration");
    assert!(page.contains("still the same connection"), "{page}");
    assert!(
        page.contains(&format!("data-integration-id=\"{id}\"")),
        "{page}"
    );
    let integration = get_json(
        &server.url(&format!("/api/v1/integrations/{id}")),
        &user_jwt("carol"),
    )
    .await;
    let granted = integration["granted_scopes"].to_string();
    assert!(granted.contains("items.write"), "{integration}");

    // Another account at the provider: nothing stored, a clear outcome.
    let url = link(&server, &service, &upgrade).await;
    let flow = pick(&server, &browser, &url, "google").await;
    let callback = consent(&browser, &flow, "mallory").await;
    let (result, page) = finish(&browser, &callback).await;
    assert_eq!(query(&result)["outcome"], "account_mismatch");
    assert!(page.contains("data-outcome=\"account_mismatch\""), "{page}");
    assert!(page.contains("different account"), "{page}");
    let list = get_json(&server.url("/api/v1/integrations"), &user_jwt("carol")).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

async fn a_user_who_denies_access_sees_it_and_the_app_is_told(mode: Mode) {
    let server = TestServer::start(mode).await;
    let service = server.api_key("service").await;
    let url = link(
        &server,
        &service,
        &json!({ "user_id": "gina", "providers": ["google"], "return_to": format!("{RETURN_TO}/done") }),
    )
    .await;
    let browser = browser();
    let flow = pick(&server, &browser, &url, "google").await;
    let mut form: Vec<(String, String)> = query(&flow.authorize).into_iter().collect();
    form.push(("decision".into(), "deny".into()));
    let mut consent_url = flow.authorize.clone();
    consent_url.set_query(None);
    let back = browser
        .post(consent_url.as_str())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::FOUND);
    let (result, page) = finish(&browser, &location(&back)).await;
    assert_eq!(query(&result)["outcome"], "denied");
    assert!(
        page.contains("You did not allow access at Google"),
        "{page}"
    );
    let outcome = query(&continue_link(&page));
    assert_eq!(outcome["outcome"], "denied");
    assert!(!outcome.contains_key("integration_id"), "{outcome:?}");
    let list = get_json(&server.url("/api/v1/integrations"), &user_jwt("gina")).await;
    assert!(list.as_array().unwrap().is_empty(), "{list}");
}

crate::both_modes!(
    a_backend_connects_a_user_through_the_hosted_page,
    a_popup_session_posts_its_outcome_to_the_allowed_origin_only,
    an_upgrade_adds_scopes_and_keeps_the_integration_id,
    a_user_who_denies_access_sees_it_and_the_app_is_told,
);
