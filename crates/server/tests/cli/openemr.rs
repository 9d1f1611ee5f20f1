//! `tether openemr register` against a fake OpenEMR site.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Run, Scratch};

const CALLBACK: &str = "https://tether.example.com/api/v1/oauth/openemr/callback";
const SECRET: &str = "j21ecvLmFi9HPc_Hv0t7Ptmf1pVcZQLt";

async fn run(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Scratch::new().run(&args, &[])
    })
    .await
    .unwrap()
}

fn register_args(site: &str, extra: &[&str]) -> Vec<String> {
    [
        "openemr",
        "register",
        "--site",
        site,
        "--redirect-uri",
        CALLBACK,
    ]
    .iter()
    .chain(extra)
    .map(|s| (*s).to_owned())
    .collect()
}

#[tokio::test]
async fn openemr_register_prints_the_secret_once_and_the_administrator_steps() {
    let site = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/default/registration"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "client_id": "client-abc",
            "client_secret": SECRET,
            "registration_access_token": "rat-secret",
            "client_secret_expires_at": 0,
            "scope": "openid fhirUser offline_access api:fhir user/Patient.read"
        })))
        .expect(1)
        .mount(&site)
        .await;

    let run = run(register_args(
        &site.uri(),
        &[
            "--name",
            "Tether (Clinic A)",
            "--contact",
            "it@clinic-a.example",
        ],
    ))
    .await;
    let out = run.assert_ok().stdout();

    assert!(out.contains("client_id      client-abc"), "{out}");
    assert_eq!(out.matches(SECRET).count(), 1, "{out}");
    assert!(
        out.contains("only time the client secret is shown"),
        "{out}"
    );
    assert!(
        out.contains("Administration → System → API Clients"),
        "{out}"
    );
    assert!(out.contains(&format!("site_url = {}", site.uri())), "{out}");
    assert!(!out.contains("rat-secret"), "{out}");
    assert!(!run.stderr().contains(SECRET));

    let requests = site.received_requests().await.unwrap();
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    let body: Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(body["application_type"], "private");
    assert_eq!(body["client_name"], "Tether (Clinic A)");
    assert_eq!(body["redirect_uris"], json!([CALLBACK]));
    assert_eq!(body["contacts"], json!(["it@clinic-a.example"]));
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_post");
}

#[tokio::test]
async fn openemr_register_reports_a_refusal_in_one_error_line() {
    let site = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/default/registration"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_scope",
            "error_description": "The requested scope is invalid"
        })))
        .mount(&site)
        .await;
    let run = run(register_args(
        &site.uri(),
        &["--scopes", "user/Observation.read"],
    ))
    .await;
    let error = run.error();
    assert!(error.contains("invalid_scope"), "{error}");
    assert!(run.stdout().is_empty());
}

#[tokio::test]
async fn openemr_register_refuses_a_plain_http_site() {
    let run = run(register_args("http://emr.clinic-a.example/", &[])).await;
    let error = run.error();
    assert!(error.contains("https"), "{error}");
}
