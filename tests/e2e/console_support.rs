//! A console user against the assembled server: an account made in the server's database
//! (as `tether console-users create` does), signed in through the real sign-in form (its
//! double-submit cookie and CSRF field), with a cookie jar and the session's CSRF token added
//! to every form it posts.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use tether_console::password;
use tether_core::ConsoleAccountId;
use tether_core::console::{ConsoleGrant, ConsoleRole, NewConsoleAccount, Username};
use tether_core::ports::ConsoleRepository;

use crate::support::TestServer;

/// The hidden CSRF field's value in a page (panics when the page has no form).
pub fn csrf_in(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("a csrf field in {page}"));
    let rest = &page[at + marker.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// A signed-in console user: cookies kept, redirects not followed.
pub struct ConsoleBrowser {
    pub base: String,
    pub account_id: ConsoleAccountId,
    pub username: String,
    pub http: reqwest::Client,
    /// The session's CSRF token (derived from the session, so every page of it carries it).
    csrf: String,
}

/// A console answer: status, `Location` (on redirects) and body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    async fn of(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let location = headers
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        Self {
            status,
            location,
            headers,
            body: response.text().await.unwrap(),
        }
    }
}

impl ConsoleBrowser {
    /// Creates an account with `role` and `grants` (e.g. `"openemr:clinic-a"`, or `""`) in
    /// `server`'s database and signs it in through the sign-in form.
    pub async fn sign_in(server: &TestServer, role: ConsoleRole, grants: &str) -> Self {
        let username = format!("{role}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let secret = password::generate();
        let account_id = create_account(server, &username, role, grants, &secret).await;
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let form = http
            .get(server.url("/console/sign-in"))
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), StatusCode::OK);
        let page = form.text().await.unwrap();
        let signed_in = http
            .post(server.url("/console/sign-in"))
            .form(&[
                ("username", username.as_str()),
                ("password", secret.as_str()),
                ("csrf", &csrf_in(&page)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            signed_in.status(),
            StatusCode::SEE_OTHER,
            "{username} signs in"
        );
        let mut browser = Self {
            base: server.base.clone(),
            account_id,
            username,
            http,
            csrf: String::new(),
        };
        let (status, overview) = browser.get("/console").await;
        assert_eq!(status, StatusCode::OK, "{overview}");
        browser.csrf = csrf_in(&overview);
        browser
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path`: status and body.
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let answer = self.open(path).await;
        (answer.status, answer.body)
    }

    /// `GET path`, the whole answer.
    pub async fn open(&self, path: &str) -> Answer {
        Answer::of(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    /// Posts a form with the session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &self.csrf));
        self.post_without_csrf(path, &form).await
    }

    /// Posts exactly `fields` (a forged or stale form).
    pub async fn post_without_csrf(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        Answer::of(
            self.http
                .post(self.url(path))
                .form(fields)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

/// Writes the account straight into the server's database, as the CLI does.
async fn create_account(
    server: &TestServer,
    username: &str,
    role: ConsoleRole,
    grants: &str,
    secret: &str,
) -> ConsoleAccountId {
    let conn =
        tether_storage::connect(&server.database_url, tether_storage::PoolOptions::default())
            .await
            .unwrap();
    // Accounts hold no encrypted columns: any key will do.
    let cipher =
        tether_storage::TokenCipher::new(&[tether_storage::TokenCipher::generate_key()]).unwrap();
    let store = tether_storage::SqlStore::new(conn.clone(), Arc::new(cipher));
    let account = store
        .create_account(
            NewConsoleAccount {
                username: Username::parse(username).unwrap(),
                role,
                password_hash: password::hash(secret.to_owned()).await.unwrap(),
                grants: ConsoleGrant::parse_list(grants).unwrap(),
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let _ = conn.close().await;
    account.id
}
