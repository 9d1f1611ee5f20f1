//! The authorization endpoint: the consent page and how bad requests are refused.

mod common;

use common::*;
use reqwest::StatusCode;
use reqwest::header::LOCATION;

#[tokio::test]
async fn consent_page_lists_each_requested_scope_pre_checked() {
    let t = Tester::start().await;
    let (_, challenge) = pkce();
    let mut query = Tester::authorize_params(&challenge);
    query.push(("scope", SCOPES.into()));
    let response = t
        .http
        .get(t.url("/oauth/authorize"))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Tether Sandbox — not a real provider"));
    for scope in SCOPES.split(' ') {
        assert!(
            html.contains(&format!("name=\"scope\" value=\"{scope}\" checked")),
            "{scope} missing"
        );
    }
    assert!(html.contains("name=\"username\""));
    assert!(html.contains("value=\"allow\"") && html.contains("value=\"deny\""));
}

#[tokio::test]
async fn a_redirect_uri_mismatch_shows_an_error_page_and_never_redirects() {
    let t = Tester::start().await;
    let (_, challenge) = pkce();
    for method in ["GET", "POST"] {
        let mut params = Tester::authorize_params(&challenge);
        params[2].1 = "http://127.0.0.1:9/callback/extra".into();
        params.extend([
            ("scope", "profile".into()),
            ("username", "alice".into()),
            ("decision", "allow".into()),
        ]);
        let request = match method {
            "GET" => t.http.get(t.url("/oauth/authorize")).query(&params),
            _ => t.http.post(t.url("/oauth/authorize")).form(&params),
        };
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{method}");
        assert!(response.headers().get(LOCATION).is_none(), "{method}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("redirect_uri does not exactly match")
        );
    }
}

#[tokio::test]
async fn an_unknown_client_gets_an_error_page() {
    let t = Tester::start().await;
    let (_, challenge) = pkce();
    let mut query = Tester::authorize_params(&challenge);
    query[1].1 = "nobody".into();
    query.push(("scope", "profile".into()));
    let response = t
        .http
        .get(t.url("/oauth/authorize"))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
}

#[tokio::test]
async fn granting_a_scope_that_was_not_requested_is_refused() {
    let t = Tester::start().await;
    let (_, challenge) = pkce();
    let mut form = Tester::authorize_params(&challenge);
    form.extend([
        ("requested_scope", "profile".into()),
        ("scope", "items.write".into()),
        ("username", "alice".into()),
        ("decision", "allow".into()),
    ]);
    let params = location_params(&t.consent(&form).await);
    assert_eq!(params["error"], "invalid_scope");
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn requests_without_pkce_or_with_plain_pkce_go_back_as_invalid_request() {
    let t = Tester::start().await;
    let (_, challenge) = pkce();
    for (drop_param, method) in [
        ("code_challenge", "S256"),
        ("code_challenge_method", "plain"),
    ] {
        let mut query: Vec<_> = Tester::authorize_params(&challenge)
            .into_iter()
            .filter(|(k, _)| *k != drop_param)
            .collect();
        if drop_param == "code_challenge_method" {
            query.push(("code_challenge_method", method.into()));
        }
        query.push(("scope", "profile".into()));
        let response = t
            .http
            .get(t.url("/oauth/authorize"))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{drop_param}");
        assert_eq!(
            location_params(&response)["error"],
            "invalid_request",
            "{drop_param}"
        );
    }
}

#[tokio::test]
async fn scopes_outside_the_clients_allowance_are_invalid_scope() {
    let t = Tester::start().await;
    let (_, challenge) = pkce();
    let query = [
        ("response_type", "code"),
        ("client_id", OTHER_ID),
        ("redirect_uri", OTHER_REDIRECT_URI),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("scope", "profile email"),
    ];
    let response = t
        .http
        .get(t.url("/oauth/authorize"))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(location_params(&response)["error"], "invalid_scope");
}

#[tokio::test]
async fn values_echoed_into_the_page_are_html_escaped() {
    let t = Tester::start().await;
    let (_, challenge) = pkce();
    let mut query = Tester::authorize_params(&challenge);
    query[3].1 = "\"><script>alert(1)</script>".into();
    query.push(("scope", "profile".into()));
    let html = t
        .http
        .get(t.url("/oauth/authorize"))
        .query(&query)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&quot;&gt;&lt;script&gt;"));
}

#[tokio::test]
async fn a_blank_username_re_shows_the_page_instead_of_issuing_a_code() {
    let t = Tester::start().await;
    let (_, challenge) = pkce();
    let mut form = Tester::authorize_params(&challenge);
    form.extend([
        ("scope", "profile".into()),
        ("username", "  ".into()),
        ("decision", "allow".into()),
    ]);
    let response = t.consent(&form).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
    assert!(response.text().await.unwrap().contains("Enter a username"));
}
