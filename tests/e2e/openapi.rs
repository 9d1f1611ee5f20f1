//! The OpenAPI document: the committed `docs/openapi.json` is what the server serves, every
//! route is in it, and the docs UI works without the internet (assets built in).

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Mode, TestServer, client};

const COMMITTED: &str = include_str!("../../docs/openapi.json");

async fn the_committed_document_is_what_the_server_serves(mode: Mode) {
    let server = TestServer::start(mode).await;
    let served: Value = client()
        .get(server.url("/api-docs/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let committed: Value = serde_json::from_str(COMMITTED).unwrap();
    assert_eq!(
        served, committed,
        "docs/openapi.json is stale: run `tether openapi`"
    );
    let paths = served["paths"].as_object().unwrap();
    for path in [
        "/api/v1/providers",
        "/api/v1/integrations/{provider}/authorize",
        "/api/v1/oauth/{provider}/start",
        "/api/v1/oauth/{provider}/callback",
        "/api/v1/integrations",
        "/api/v1/integrations/{id}",
        "/api/v1/integrations/{id}/refresh",
        "/api/v1/integrations/{id}/test",
        "/api/v1/integrations/{id}/token",
        "/api/v1/integrations/{id}/proxy/{path}",
        "/api/v1/integrations/{id}/consents",
        "/api/v1/audit",
        "/api/v1/sms",
        "/api/v1/sms/balance",
        "/api/v1/admin/providers",
        "/api/v1/admin/providers/{provider}",
        "/api/v1/admin/providers/{provider}/test",
        "/api/v1/admin/api-keys",
        "/api/v1/admin/api-keys/{id}",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    let schemes = served["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("user_jwt") && schemes.contains_key("api_key"));
    // Every operation has a summary and a unique id, documents the answers every operation
    // can give (401 when it needs credentials), and types its ids as UUIDs.
    let mut operations = 0;
    let mut ids = std::collections::HashSet::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            assert!(
                operation["summary"].is_string(),
                "{method} {path} has no summary"
            );
            assert!(
                ids.insert(operation["operationId"].as_str().unwrap().to_owned()),
                "{method} {path}: operationId used twice"
            );
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("431"), "{method} {path}: no 431");
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            let has_input = operation["parameters"]
                .as_array()
                .is_some_and(|p| !p.is_empty())
                || operation.get("requestBody").is_some();
            if secured || has_input {
                assert!(responses.contains_key("400"), "{method} {path}: no 400");
            }
            if secured {
                assert!(responses.contains_key("401"), "{method} {path}: no 401");
            }
            if path.starts_with("/api/v1/") {
                assert!(responses.contains_key("429"), "{method} {path}: no 429");
            }
            for param in operation["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                if param["in"] == "path" && (name == "id" || name.ends_with("_id")) {
                    assert_eq!(param["schema"]["format"], "uuid", "{method} {path} {name}");
                }
            }
        }
    }
    assert!(operations >= 26, "{operations}");
}

async fn the_docs_ui_is_served_with_its_assets(mode: Mode) {
    let server = TestServer::start(mode).await;
    let page = client().get(server.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.to_lowercase().contains("swagger"), "{html}");
    for asset in [
        "/docs/swagger-ui.css",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-initializer.js",
    ] {
        let response = client().get(server.url(asset)).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{asset} is served from the binary"
        );
    }
}

crate::both_modes!(
    the_committed_document_is_what_the_server_serves,
    the_docs_ui_is_served_with_its_assets,
);
