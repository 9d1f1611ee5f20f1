//! Mounting the sandbox routes into another actix-web app under a prefix.

mod common;

use std::net::TcpListener;

use actix_web::{App, HttpServer, web};
use common::*;
use reqwest::StatusCode;
use serde_json::Value;
use tether_sandbox::{SandboxState, configure};

#[tokio::test]
async fn the_sandbox_works_under_a_prefix_of_another_app() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = config();
    config.issuer = Some(format!("{base}/sandbox/"));
    let state = SandboxState::new(config).unwrap();
    assert_eq!(state.issuer(), format!("{base}/sandbox"));
    let app_state = state.clone();
    let server = HttpServer::new(move || {
        let state = app_state.clone();
        App::new()
            .route("/healthz", web::get().to(|| async { "ok" }))
            .service(web::scope("/sandbox").configure(|cfg| configure(cfg, state)))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let meta: Value = http
        .get(format!(
            "{base}/sandbox/.well-known/oauth-authorization-server"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], format!("{base}/sandbox"));
    assert_eq!(
        meta["token_endpoint"],
        format!("{base}/sandbox/oauth/token")
    );

    let (verifier, challenge) = pkce();
    let mut form = Tester::authorize_params(&challenge);
    let page = http.get(format!("{base}/sandbox/oauth/authorize")).query(&{
        let mut q = form.clone();
        q.push(("scope", "profile".into()));
        q
    });
    let html = page.send().await.unwrap().text().await.unwrap();
    // The form posts back relative to the page, so it stays under the prefix.
    assert!(html.contains("action=\"authorize\""));

    form.extend([
        ("scope", "profile".into()),
        ("username", "alice".into()),
        ("decision", "allow".into()),
    ]);
    let response = http
        .post(format!("{base}/sandbox/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let params = location_params(&response);
    assert_eq!(params["iss"], format!("{base}/sandbox"));
    let tokens = http
        .post(format!("{base}/sandbox/oauth/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", params["code"].as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status(), StatusCode::OK);
    assert_eq!(
        state
            .stats()
            .token_calls(CLIENT_ID, tether_sandbox::GrantType::AuthorizationCode),
        1
    );
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    handle.stop(false).await;
}
