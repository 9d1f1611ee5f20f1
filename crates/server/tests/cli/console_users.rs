//! `tether console-users`: accounts made at the command line sign in to the console the
//! binary serves, every change is audited with the operator as actor, and no password is
//! printed twice or recorded.

use std::io::Write;
use std::process::Stdio;

use crate::audit::audit_rows;
use crate::support::Scratch;

/// Runs `tether ARGS` with `input` on standard input.
fn run_with_stdin(scratch: &Scratch, args: &[&str], input: &str) -> std::process::Output {
    let mut child = scratch
        .command(args, &[("TETHER_OPERATOR", "ops")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn console_users_are_created_listed_disabled_and_reset_with_audit_records() {
    let scratch = Scratch::new();
    let operator = [("TETHER_OPERATOR", "ops")];
    let created = scratch
        .run(
            &[
                "console-users",
                "create",
                "--username",
                "Alice",
                "--role",
                "admin",
            ],
            &operator,
        )
        .assert_ok()
        .stdout();
    assert!(
        created.starts_with("created admin account alice"),
        "{created}"
    );
    let generated = created.lines().last().unwrap().trim().to_owned();
    assert!(generated.len() >= 12, "a generated password is shown once");

    let out = run_with_stdin(
        &scratch,
        &[
            "console-users",
            "create",
            "--username",
            "sam",
            "--role",
            "staff",
            "--grant",
            "openemr:clinic-a",
            "--password-stdin",
        ],
        "staff password 456\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("staff password 456"),
        "a chosen password is not echoed"
    );

    // Bad input: a clear error, nothing changed.
    let error = scratch
        .run(
            &[
                "console-users",
                "create",
                "--username",
                "sam",
                "--role",
                "staff",
            ],
            &operator,
        )
        .error();
    assert!(error.contains("sam is taken"), "{error}");
    let error = scratch
        .run(
            &[
                "console-users",
                "create",
                "--username",
                "bob",
                "--role",
                "root",
            ],
            &operator,
        )
        .error();
    assert!(error.contains("--role"), "{error}");
    let out = run_with_stdin(
        &scratch,
        &[
            "console-users",
            "create",
            "--username",
            "bob",
            "--role",
            "staff",
            "--password-stdin",
        ],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));

    let listed = scratch
        .run(&["console-users", "list"], &operator)
        .assert_ok()
        .stdout();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].contains("admin") && lines[0].contains("alice"));
    assert!(lines[1].contains("staff") && lines[1].contains("openemr:clinic-a"));

    scratch
        .run(&["console-users", "disable", "sam"], &operator)
        .assert_ok();
    assert!(
        scratch
            .run(&["console-users", "list"], &operator)
            .assert_ok()
            .stdout()
            .lines()
            .any(|l| l.contains("disabled") && l.contains("sam"))
    );
    let reset = scratch
        .run(&["console-users", "reset-password", "alice"], &operator)
        .assert_ok()
        .stdout();
    let new_password = reset.lines().last().unwrap().trim().to_owned();
    assert_ne!(new_password, generated);
    let error = scratch
        .run(&["console-users", "disable", "nobody"], &operator)
        .error();
    assert!(error.contains("no console account nobody"), "{error}");

    let rows = audit_rows(&scratch).await;
    let console_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.2.starts_with("console_"))
        .collect();
    let actions: Vec<&str> = console_rows.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(
        actions,
        [
            "console_account_created",
            "console_account_created",
            "console_account_disabled",
            "console_password_reset"
        ]
    );
    for (actor, actor_id, _, success, detail) in &console_rows {
        assert_eq!(
            (actor.as_str(), actor_id.as_str(), *success),
            ("operator", "ops", true)
        );
        assert!(
            detail["command"]
                .as_str()
                .unwrap()
                .starts_with("tether console-users")
        );
    }
    assert_eq!(console_rows[1].4["grants"][0], "openemr:clinic-a");
    let text = format!("{rows:?}");
    for secret in [&generated, &new_password, "staff password 456"] {
        assert!(!text.contains(secret), "a password in the audit trail");
    }

    // The served console knows the account: the new password signs in, the old one does not.
    let server = scratch.serve(&[]);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let home = http
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("href=\"/console\""),
        "the home page links to the console"
    );
    let form = http
        .get(server.url("/console/sign-in"))
        .send()
        .await
        .unwrap();
    assert!(
        form.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let cookie = form.headers()["set-cookie"].to_str().unwrap().to_owned();
    let pair = cookie.split(';').next().unwrap().to_owned();
    let csrf = pair.split_once('=').unwrap().1.to_owned();
    let sign_in = |password: String| {
        let http = http.clone();
        let (url, pair, csrf) = (server.url("/console/sign-in"), pair.clone(), csrf.clone());
        async move {
            http.post(url)
                .header("cookie", pair)
                .form(&[
                    ("username", "alice"),
                    ("password", &password),
                    ("csrf", &csrf),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(sign_in(generated.clone()).await, 401);
    assert_eq!(sign_in(new_password.clone()).await, 303);
    server.terminate();
}
