//! `tether webhooks …` on the embedded database: the secret is printed once, refused input
//! names the setting and saves nothing, a test send reports the receiver's answer, and the
//! exit code says whether it worked.

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Run, Scratch};

/// Runs `tether webhooks ARGS` off the async runtime (the receiver lives on it).
async fn webhooks(scratch: &Scratch, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec!["webhooks".to_owned()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut command = {
        let args: Vec<&str> = all.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        scratch.command(&args, &env)
    };
    tokio::task::spawn_blocking(move || Run(command.output().unwrap()))
        .await
        .unwrap()
}

fn created_id(run: &Run) -> String {
    run.stdout()
        .lines()
        .find_map(|l| l.strip_prefix("created webhook endpoint "))
        .unwrap_or_else(|| panic!("no id in:\n{}", run.stdout()))
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_managed_from_the_command_line() {
    let scratch = Scratch::new();
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let loopback = [
        ("TETHER_WEBHOOKS_ALLOW_HTTP", "true"),
        ("TETHER_WEBHOOKS_ALLOW_PRIVATE", "true"),
    ];

    let refused = webhooks(&scratch, &["create", "--url", &receiver.uri()], &[]).await;
    let error = refused.error();
    assert!(error.contains("webhooks_allow_http"), "{error}");
    let listed = webhooks(&scratch, &["list"], &[]).await;
    assert!(
        listed
            .assert_ok()
            .stdout()
            .starts_with("no webhook endpoints")
    );

    let created = webhooks(
        &scratch,
        &[
            "create",
            "--url",
            &format!("{}/hooks", receiver.uri()),
            "--description",
            "local receiver",
            "--event-types",
            "integration.revoked,integration.reauth_required",
        ],
        &loopback,
    )
    .await;
    let out = created.assert_ok().stdout();
    let id = created_id(&created);
    let secret = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("whsec_"))
        .unwrap_or_else(|| panic!("no secret in:\n{out}"))
        .to_owned();
    assert!(
        out.contains("events: integration.reauth_required,integration.revoked"),
        "{out}"
    );

    let listed = webhooks(&scratch, &["list"], &[]).await;
    let listing = listed.assert_ok().stdout();
    assert!(
        listing.contains(&id) && listing.contains("local receiver"),
        "{listing}"
    );
    assert!(!listing.contains(&secret), "list never shows the secret");

    let tested = webhooks(&scratch, &["test", &id], &loopback).await;
    assert!(
        tested
            .assert_ok()
            .stdout()
            .starts_with("delivered test event")
    );
    let request = &receiver.received_requests().await.unwrap()[0];
    standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(&request.body, &request.headers)
        .expect("the printed secret verifies the test event");

    let rotated = webhooks(&scratch, &["rotate-secret", &id], &[]).await;
    let out = rotated.assert_ok().stdout();
    assert!(
        out.contains("the previous secret also signs until"),
        "{out}"
    );
    assert!(!out.contains(&secret));

    let updated = webhooks(&scratch, &["update", &id, "--disable", "--all-events"], &[]).await;
    let out = updated.assert_ok().stdout();
    assert!(out.contains("disabled: Disabled by an operator."), "{out}");
    assert!(out.contains("events: every event type"), "{out}");

    let deliveries = webhooks(&scratch, &["deliveries", &id], &[]).await;
    assert_eq!(deliveries.assert_ok().stdout().trim(), "no deliveries yet");
    let redelivered = webhooks(
        &scratch,
        &["redeliver", &id, "--since", "2000-01-01T00:00:00Z"],
        &[],
    )
    .await;
    assert!(
        redelivered
            .assert_ok()
            .stdout()
            .starts_with("queued 0 event(s)")
    );
    let bad_time = webhooks(&scratch, &["redeliver", &id, "--since", "yesterday"], &[]).await;
    assert!(bad_time.error().contains("RFC 3339"));

    let deleted = webhooks(&scratch, &["delete", &id], &[]).await;
    assert!(
        deleted
            .assert_ok()
            .stdout()
            .starts_with("deleted webhook endpoint")
    );
    let missing = webhooks(&scratch, &["delete", &id], &[]).await;
    assert!(missing.error().contains("no webhook endpoint with this id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_send_the_receiver_refuses_fails_the_command_with_its_answer() {
    let scratch = Scratch::new();
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("maintenance"))
        .mount(&receiver)
        .await;
    let loopback = [
        ("TETHER_WEBHOOKS_ALLOW_HTTP", "true"),
        ("TETHER_WEBHOOKS_ALLOW_PRIVATE", "true"),
    ];
    let created = webhooks(
        &scratch,
        &["create", "--url", &format!("{}/hooks", receiver.uri())],
        &loopback,
    )
    .await;
    created.assert_ok();
    let id = created_id(&created);
    let tested = webhooks(&scratch, &["test", &id], &loopback).await;
    let error = tested.error();
    assert!(error.contains("did not accept test event"), "{error}");
    assert!(error.contains("HTTP 503: maintenance"), "{error}");
    // Under the default settings the saved loopback endpoint is refused before sending.
    let refused = webhooks(&scratch, &["test", &id], &[]).await;
    assert!(refused.error().contains("webhooks_allow_http"));
    assert_eq!(receiver.received_requests().await.unwrap().len(), 1);
}
