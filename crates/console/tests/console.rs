//! The console over HTTP, against real SQLite and PostgreSQL databases (`sqlite::NAME` and
//! `postgres::NAME`): an actix server on a loopback port, a client that keeps cookies by hand,
//! and a clock the tests move.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use chrono::Duration;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use tether_console::{
    ConsoleSettings, ConsoleState, ConsoleStores, SESSION_COOKIE, SIGN_IN_COOKIE, SignInLimits,
    password,
};
use tether_core::audit::{Actor, AuditAction, AuditQuery, AuditRecord};
use tether_core::clock::ManualClock;
use tether_core::console::{
    ConsoleAccount, ConsoleGrant, ConsoleRole, NewConsoleAccount, Username,
};
use tether_core::ports::{ApiKeyRepository, AuditRepository, ConsoleRepository};
use tether_storage::{SqlStore, TokenCipher};
use tether_testkit::TestDb;

const ADMIN_PASSWORD: &str = "admin password 123";
const STAFF_PASSWORD: &str = "staff password 456";

struct Console {
    base: String,
    http: reqwest::Client,
    store: Arc<SqlStore>,
    clock: Arc<ManualClock>,
    revoked: Arc<std::sync::atomic::AtomicUsize>,
    db: TestDb,
}

/// A browser's cookie jar, by hand: name → value.
#[derive(Default, Clone)]
struct Jar(HashMap<String, String>);

impl Jar {
    fn take(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The `Set-Cookie` value of the cookie `name` in `response`.
fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap()
}

/// The hidden CSRF field's value in a page.
fn csrf_in(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

impl Console {
    async fn start(db: TestDb, limits: SignInLimits) -> Self {
        Self::start_with(
            db,
            ConsoleSettings {
                limits,
                ..ConsoleSettings::default()
            },
        )
        .await
    }

    async fn start_with(db: TestDb, settings: ConsoleSettings) -> Self {
        let store = Arc::new(SqlStore::new(
            db.conn.clone(),
            Arc::new(TokenCipher::new(&[TokenCipher::generate_key()]).unwrap()),
        ));
        let clock = Arc::new(ManualClock::starting_now());
        let revoked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = revoked.clone();
        let state = web::Data::new(ConsoleState::new(
            ConsoleStores {
                accounts: store.clone(),
                overview: store.clone(),
                api_keys: store.clone(),
                audit: store.clone(),
            },
            settings,
            clock.clone(),
            Arc::new(move || {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }),
        ));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new().configure(|cfg| tether_console::configure(cfg, state.clone()))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        let console = Self {
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            store,
            clock,
            revoked,
            db,
        };
        console
            .account("root", ConsoleRole::Admin, ADMIN_PASSWORD, "")
            .await;
        console
    }

    async fn account(
        &self,
        name: &str,
        role: ConsoleRole,
        secret: &str,
        grants: &str,
    ) -> ConsoleAccount {
        self.store
            .create_account(
                NewConsoleAccount {
                    username: Username::parse(name).unwrap(),
                    role,
                    password_hash: password::hash(secret.to_owned()).await.unwrap(),
                    grants: ConsoleGrant::parse_list(grants).unwrap(),
                },
                self.clock_now(),
            )
            .await
            .unwrap()
    }

    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        tether_core::clock::Clock::now(self.clock.as_ref())
    }

    async fn get(&self, jar: &mut Jar, path: &str) -> (StatusCode, String, Option<String>) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, jar.header())
            .send()
            .await
            .unwrap();
        jar.take(&response);
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        (status, response.text().await.unwrap(), location)
    }

    async fn post(
        &self,
        jar: &mut Jar,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, Option<String>) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, jar.header())
            .form(form)
            .send()
            .await
            .unwrap();
        jar.take(&response);
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        (status, response.text().await.unwrap(), location)
    }

    /// Opens the sign-in form and submits it; the jar keeps the session on success.
    async fn sign_in(&self, jar: &mut Jar, name: &str, secret: &str) -> (StatusCode, String) {
        let (status, page, _) = self.get(jar, "/console/sign-in").await;
        assert_eq!(status, StatusCode::OK);
        let csrf = csrf_in(&page);
        let (status, page, _) = self
            .post(
                jar,
                "/console/sign-in",
                &[("username", name), ("password", secret), ("csrf", &csrf)],
            )
            .await;
        (status, page)
    }

    /// Posts the sign-in form of `page` (opened with `jar`) and answers the raw response.
    async fn submit_sign_in(
        &self,
        jar: &Jar,
        page: &str,
        name: &str,
        secret: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/console/sign-in", self.base))
            .header(COOKIE, jar.header())
            .form(&[
                ("username", name),
                ("password", secret),
                ("csrf", &csrf_in(page)),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn signed_in(&self, name: &str, secret: &str) -> Jar {
        let mut jar = Jar::default();
        let (status, _) = self.sign_in(&mut jar, name, secret).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{name} signs in");
        assert!(jar.0.contains_key(SESSION_COOKIE));
        jar
    }

    /// The CSRF token of a page the jar may open.
    async fn csrf(&self, jar: &mut Jar, path: &str) -> String {
        let (status, page, _) = self.get(jar, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        csrf_in(&page)
    }

    async fn audit(&self, action: AuditAction) -> Vec<AuditRecord> {
        self.store
            .query(&AuditQuery {
                action: Some(action),
                limit: 100,
                ..AuditQuery::default()
            })
            .await
            .unwrap()
    }
}

fn default_limits() -> SignInLimits {
    SignInLimits {
        per_address_per_minute: 100,
        per_account_per_minute: 100,
    }
}

async fn signing_in_opens_the_console_with_a_strict_cookie_and_is_audited(db: TestDb) {
    let console = Console::start(db, default_limits()).await;
    let mut jar = Jar::default();
    let (_, page, _) = console.get(&mut jar, "/console/sign-in").await;
    assert!(page.contains("<label for=\"username\">"), "labelled fields");
    assert!(jar.0.contains_key(SIGN_IN_COOKIE));

    let response = console
        .submit_sign_in(&jar, &page, "Root", ADMIN_PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/console");
    let session_cookie = set_cookie(&response, SESSION_COOKIE);
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session_cookie.contains(attribute), "{session_cookie}");
    }
    assert!(!session_cookie.contains("Secure"), "plain http here");
    jar.take(&response);

    let (status, page, _) = console.get(&mut jar, "/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Signed in as <strong>root</strong>"));
    assert!(page.contains("No integrations yet."));
    let csp = console
        .http
        .get(format!("{}/console", console.base))
        .header(COOKIE, jar.header())
        .send()
        .await
        .unwrap()
        .headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"));

    let token = jar.0[SESSION_COOKIE].clone();
    let records = console.audit(AuditAction::ConsoleSignIn).await;
    assert_eq!(records.len(), 1);
    let root = console
        .store
        .account_by_username(&Username::parse("root").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(records[0].event.actor, Actor::Console(root.id));
    assert!(records[0].event.success);
    assert_eq!(records[0].event.ip_address.as_deref(), Some("127.0.0.1"));
    let text = format!("{records:?}");
    assert!(!text.contains(ADMIN_PASSWORD) && !text.contains(&token));
    // Only a hash of the session token is stored.
    let stored = db_text(&console, "SELECT token_hash AS v FROM console_sessions").await;
    assert!(!stored.contains(&token) && stored.len() == 64, "{stored}");
}

async fn db_text(console: &Console, sql: &str) -> String {
    let rows = console.db.query_all(sql).await;
    assert_eq!(rows.len(), 1, "{sql}");
    rows[0].try_get::<String>("", "v").unwrap()
}

async fn a_wrong_password_or_unknown_account_is_refused_and_audited_without_secrets(db: TestDb) {
    let console = Console::start(db, default_limits()).await;
    let mut jar = Jar::default();
    let (status, page) = console.sign_in(&mut jar, "root", "not the password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Wrong username or password."));
    assert!(!jar.0.contains_key(SESSION_COOKIE));
    let (status, _) = console
        .sign_in(&mut jar, "nobody", "typed into the wrong box")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, location) = console.get(&mut jar, "/console").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/sign-in"));

    let records = console.audit(AuditAction::ConsoleSignIn).await;
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| !r.event.success));
    assert!(
        matches!(records[1].event.actor, Actor::Console(_)),
        "the known account"
    );
    assert_eq!(records[0].event.actor, Actor::System, "no account to name");
    let text = format!("{records:?}");
    for secret in ["not the password", "typed into the wrong box", "nobody"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

async fn sign_in_attempts_are_limited_per_account(db: TestDb) {
    let console = Console::start(
        db,
        SignInLimits {
            per_address_per_minute: 100,
            per_account_per_minute: 3,
        },
    )
    .await;
    let mut jar = Jar::default();
    for _ in 0..3 {
        let (status, _) = console.sign_in(&mut jar, "root", "guess guess guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (_, page, _) = console.get(&mut jar, "/console/sign-in").await;
    let response = console
        .submit_sign_in(&jar, &page, "ROOT", ADMIN_PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert!(
        !response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().starts_with(SESSION_COOKIE)),
        "even the right password gets no session while limited"
    );
    // Another account from the same address is still served.
    console
        .account("sam", ConsoleRole::Staff, STAFF_PASSWORD, "")
        .await;
    console.signed_in("sam", STAFF_PASSWORD).await;
}

async fn sign_in_attempts_are_limited_per_address(db: TestDb) {
    let console = Console::start(
        db,
        SignInLimits {
            per_address_per_minute: 2,
            per_account_per_minute: 100,
        },
    )
    .await;
    let mut jar = Jar::default();
    for name in ["a", "b"] {
        let (status, _) = console.sign_in(&mut jar, name, "guess guess guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = console.sign_in(&mut jar, "root", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

async fn forms_without_their_csrf_token_are_refused_and_change_nothing(db: TestDb) {
    let console = Console::start(db, default_limits()).await;
    // The sign-in form: no double-submit cookie, or a token that is not the cookie's.
    let mut fresh = Jar::default();
    let (status, _, _) = console
        .post(
            &mut fresh,
            "/console/sign-in",
            &[("username", "root"), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    console.get(&mut fresh, "/console/sign-in").await;
    let (status, _, _) = console
        .post(
            &mut fresh,
            "/console/sign-in",
            &[
                ("username", "root"),
                ("password", ADMIN_PASSWORD),
                ("csrf", "made-up"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!fresh.0.contains_key(SESSION_COOKIE));

    // Signed in: a form posted without the token, or with another session's.
    let mut jar = console.signed_in("root", ADMIN_PASSWORD).await;
    let mut other = console.signed_in("root", ADMIN_PASSWORD).await;
    let others = console.csrf(&mut other, "/console/api-keys").await;
    let (status, page, _) = console
        .post(
            &mut jar,
            "/console/api-keys",
            &[("name", "sneaky"), ("role", "admin")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("security token"));
    let (status, _, _) = console
        .post(
            &mut jar,
            "/console/api-keys",
            &[("name", "sneaky"), ("role", "admin"), ("csrf", &others)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = console.post(&mut jar, "/console/sign-out", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        console.store.list().await.unwrap().is_empty(),
        "no key created"
    );
    let (status, _, _) = console.get(&mut jar, "/console").await;
    assert_eq!(status, StatusCode::OK, "still signed in");
}

async fn a_session_ends_at_its_expiry(db: TestDb) {
    let console = Console::start(db, default_limits()).await;
    let mut jar = console.signed_in("root", ADMIN_PASSWORD).await;
    console
        .clock
        .advance(Duration::hours(12) - Duration::seconds(1));
    let (status, _, _) = console.get(&mut jar, "/console").await;
    assert_eq!(status, StatusCode::OK, "a second before expiry");
    console.clock.advance(Duration::seconds(1));
    let (status, _, location) = console.get(&mut jar, "/console").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/sign-in"));
    let (status, _, _) = console
        .post(&mut jar, "/console/sign-out", &[("csrf", "whatever")])
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an expired session posts nothing"
    );
}

async fn signing_out_everywhere_ends_every_session_of_the_account(db: TestDb) {
    let console = Console::start(db, default_limits()).await;
    let mut laptop = console.signed_in("root", ADMIN_PASSWORD).await;
    let mut phone = console.signed_in("root", ADMIN_PASSWORD).await;
    let mut other_tab = console.signed_in("root", ADMIN_PASSWORD).await;

    // Plain sign-out ends one session.
    let csrf = console.csrf(&mut other_tab, "/console").await;
    let (status, _, location) = console
        .post(&mut other_tab, "/console/sign-out", &[("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/console/sign-in?notice=signed-out")
    );
    assert!(
        !other_tab.0.contains_key(SESSION_COOKIE),
        "the cookie is cleared"
    );
    let (status, _, _) = console.get(&mut phone, "/console").await;
    assert_eq!(status, StatusCode::OK);

    let csrf = console.csrf(&mut laptop, "/console").await;
    let (status, _, _) = console
        .post(
            &mut laptop,
            "/console/sign-out-everywhere",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    for jar in [&mut laptop, &mut phone] {
        let (status, _, _) = console.get(jar, "/console").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    let ended = console.audit(AuditAction::ConsoleSessionsEnded).await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].event.detail.as_ref().unwrap()["sessions_ended"], 2);
    assert_eq!(console.audit(AuditAction::ConsoleSignOut).await.len(), 1);
}

async fn staff_are_refused_admin_pages_and_see_their_grants(db: TestDb) {
    let console = Console::start(db, default_limits()).await;
    console
        .account(
            "sam",
            ConsoleRole::Staff,
            STAFF_PASSWORD,
            "openemr:clinic-a",
        )
        .await;
    let mut jar = console.signed_in("sam", STAFF_PASSWORD).await;
    let (status, page, _) = console.get(&mut jar, "/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("openemr:clinic-a"));
    assert!(
        !page.contains("/console/api-keys"),
        "no admin links for staff"
    );
    let csrf = csrf_in(&page);
    for path in ["/console/api-keys", "/console/accounts"] {
        let (status, _, _) = console.get(&mut jar, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _, _) = console
        .post(
            &mut jar,
            "/console/accounts",
            &[
                ("csrf", &csrf),
                ("username", "mallory"),
                ("role", "admin"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = console
        .post(
            &mut jar,
            "/console/api-keys",
            &[("csrf", &csrf), ("name", "x"), ("role", "admin")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(console.store.list_accounts().await.unwrap().len(), 2);
    assert!(console.store.list().await.unwrap().is_empty());
}

async fn admins_manage_accounts_and_a_disabled_account_is_locked_out(db: TestDb) {
    let console = Console::start(db, default_limits()).await;
    let mut admin = console.signed_in("root", ADMIN_PASSWORD).await;
    let csrf = console.csrf(&mut admin, "/console/accounts").await;

    // Bad input: a clear error, nothing created.
    let (status, page, _) = console
        .post(
            &mut admin,
            "/console/accounts",
            &[
                ("csrf", &csrf),
                ("username", "sam"),
                ("role", "staff"),
                ("password", "short"),
                ("grants", "openemr:clinic-a"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("at least 12 characters"), "{page}");
    let (status, page, _) = console
        .post(
            &mut admin,
            "/console/accounts",
            &[
                ("csrf", &csrf),
                ("username", "sam"),
                ("role", "staff"),
                ("password", STAFF_PASSWORD),
                ("grants", "nowhere:clinic-a"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Grants:"));
    assert_eq!(console.store.list_accounts().await.unwrap().len(), 1);

    let (status, _, location) = console
        .post(
            &mut admin,
            "/console/accounts",
            &[
                ("csrf", &csrf),
                ("username", "Sam"),
                ("role", "staff"),
                ("password", STAFF_PASSWORD),
                ("grants", "openemr:clinic-a\nopenemr:clinic-b"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/console/accounts?notice=account-created")
    );
    let (status, _, _) = console
        .post(
            &mut admin,
            "/console/accounts",
            &[
                ("csrf", &csrf),
                ("username", "sam"),
                ("role", "staff"),
                ("password", STAFF_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the name is taken");
    let sam = console
        .store
        .account_by_username(&Username::parse("sam").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sam.grants.len(), 2);
    assert!(!sam.password_hash.contains(STAFF_PASSWORD));

    let mut staff = console.signed_in("sam", STAFF_PASSWORD).await;
    let base = format!("/console/accounts/{}", sam.id);
    let (status, _, _) = console
        .post(
            &mut admin,
            &format!("{base}/grants"),
            &[("csrf", &csrf), ("grants", "openemr:clinic-c")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page, _) = console.get(&mut staff, "/console").await;
    assert!(page.contains("openemr:clinic-c") && !page.contains("clinic-a"));

    let (status, _, _) = console
        .post(&mut admin, &format!("{base}/disable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = console.get(&mut staff, "/console").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the disabled account's session ended"
    );
    let mut again = Jar::default();
    let (status, page) = console.sign_in(&mut again, "sam", STAFF_PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("disabled"));
    let refused = console.audit(AuditAction::ConsoleSignIn).await;
    assert_eq!(
        refused[0].event.detail.as_ref().unwrap()["reason"],
        "account_disabled"
    );

    // Enabled again with a new password: the old one no longer works.
    console
        .post(&mut admin, &format!("{base}/enable"), &[("csrf", &csrf)])
        .await;
    let (status, _, _) = console
        .post(
            &mut admin,
            &format!("{base}/password"),
            &[("csrf", &csrf), ("password", "a brand new password")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = console.sign_in(&mut again, "sam", STAFF_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    console.signed_in("sam", "a brand new password").await;

    // An admin cannot lock themselves out.
    let root_id = console.audit(AuditAction::ConsoleAccountCreated).await[0]
        .event
        .actor
        .clone();
    let Actor::Console(root_id) = root_id else {
        panic!("created by a console account")
    };
    let (status, _, _) = console
        .post(
            &mut admin,
            &format!("/console/accounts/{root_id}/disable"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    for (action, count) in [
        (AuditAction::ConsoleAccountCreated, 1),
        (AuditAction::ConsoleGrantsChanged, 1),
        (AuditAction::ConsoleAccountDisabled, 1),
        (AuditAction::ConsoleAccountEnabled, 1),
        (AuditAction::ConsolePasswordReset, 1),
    ] {
        let records = console.audit(action).await;
        assert_eq!(records.len(), count, "{action}");
        assert_eq!(records[0].event.actor, Actor::Console(root_id));
        let text = format!("{records:?}");
        assert!(!text.contains(STAFF_PASSWORD) && !text.contains("a brand new password"));
    }
}

async fn api_keys_are_shown_once_listed_by_prefix_and_revoked(db: TestDb) {
    let console = Console::start(db, default_limits()).await;
    let mut admin = console.signed_in("root", ADMIN_PASSWORD).await;
    let csrf = console.csrf(&mut admin, "/console/api-keys").await;
    let (status, page, _) = console
        .post(
            &mut admin,
            "/console/api-keys",
            &[("csrf", &csrf), ("name", "  "), ("role", "service")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Give the key a name"));
    let (status, _, _) = console
        .post(
            &mut admin,
            "/console/api-keys",
            &[("csrf", &csrf), ("name", "x"), ("role", "root")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(console.store.list().await.unwrap().is_empty());

    let (status, page, _) = console
        .post(
            &mut admin,
            "/console/api-keys",
            &[
                ("csrf", &csrf),
                ("name", "calendar-sync"),
                ("role", "service"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let at = page.find("id=\"new-key\">").unwrap() + "id=\"new-key\">".len();
    let key = &page[at..at + page[at..].find('<').unwrap()];
    assert!(key.starts_with("tk_"));
    let stored = console
        .store
        .find_active_by_hash(&tether_api::auth::hash_key(key))
        .await
        .unwrap()
        .expect("the shown key is the stored one");
    let (_, list, _) = console.get(&mut admin, "/console/api-keys").await;
    assert!(
        list.contains("calendar-sync") && !list.contains(key),
        "never shown again"
    );

    let (status, _, location) = console
        .post(
            &mut admin,
            &format!("/console/api-keys/{}/revoke", stored.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/console/api-keys?notice=key-revoked")
    );
    assert!(
        console
            .store
            .find_active_by_hash(&stored.key_hash)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(console.revoked.load(std::sync::atomic::Ordering::SeqCst), 1);
    let (status, _, _) = console
        .post(
            &mut admin,
            &format!("/console/api-keys/{}/revoke", stored.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already revoked");

    let created = console.audit(AuditAction::ApiKeyCreated).await;
    assert!(matches!(created[0].event.actor, Actor::Console(_)));
    assert!(!format!("{created:?}").contains(key));
    assert_eq!(console.audit(AuditAction::ApiKeyRevoked).await.len(), 1);
}

async fn cookies_are_secure_when_the_public_url_is_https(db: TestDb) {
    let console = Console::start_with(
        db,
        ConsoleSettings {
            secure_cookies: true,
            limits: default_limits(),
            ..ConsoleSettings::default()
        },
    )
    .await;
    let mut jar = Jar::default();
    let form = console
        .http
        .get(format!("{}/console/sign-in", console.base))
        .send()
        .await
        .unwrap();
    let cookie = form.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with(SIGN_IN_COOKIE) && cookie.contains("; Secure"),
        "{cookie}"
    );
    jar.take(&form);
    let page = form.text().await.unwrap();
    let response = console
        .submit_sign_in(&jar, &page, "root", ADMIN_PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = set_cookie(&response, SESSION_COOKIE);
    assert!(session.contains("; Secure"), "{session}");
}

tether_testkit::engine_tests!(
    cookies_are_secure_when_the_public_url_is_https,
    signing_in_opens_the_console_with_a_strict_cookie_and_is_audited,
    a_wrong_password_or_unknown_account_is_refused_and_audited_without_secrets,
    sign_in_attempts_are_limited_per_account,
    sign_in_attempts_are_limited_per_address,
    forms_without_their_csrf_token_are_refused_and_change_nothing,
    a_session_ends_at_its_expiry,
    signing_out_everywhere_ends_every_session_of_the_account,
    staff_are_refused_admin_pages_and_see_their_grants,
    admins_manage_accounts_and_a_disabled_account_is_locked_out,
    api_keys_are_shown_once_listed_by_prefix_and_revoked,
);

#[path = "console/audit_page.rs"]
mod audit_page;
#[path = "console/overview_page.rs"]
mod overview_page;
