//! The assembled server on port 0 through `Application::build` (the production code path),
//! configured by a `tether.toml` per test: embedded (SQLite, database state) or production
//! (PostgreSQL, Redis), both with the sandbox standing in for every provider. A browser with
//! a cookie jar, and user JWTs signed the way the product's auth system would.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use tether_server::{Application, Config};
use tether_testkit::{Engine, TestDb};

pub const JWT_SECRET: &str = "e2e-jwt-secret-that-is-long-enough-0123456789";
pub const ISSUER: &str = "https://auth.example.com/";
pub const AUDIENCE: &str = "tether";
pub const RETURN_TO: &str = "https://app.example.com/settings";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Embedded,
    Production,
    /// PostgreSQL without Redis (flow state and locks in the database, cache invalidations
    /// over LISTEN/NOTIFY).
    PostgresOnly,
}

pub struct TestServer {
    pub base: String,
    pub database_url: String,
    pub encryption_key: Option<String>,
    /// The sandbox's client secret (to check it never appears in logs).
    pub sandbox_client_secret: String,
    pub redis_prefix: Option<String>,
    config_path: std::path::PathBuf,
    handle: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
    _db: Option<TestDb>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A second replica of a [`TestServer`].
pub struct Replica {
    pub base: String,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Replica {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Serialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    /// Not valid before (absent when `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

impl Claims {
    pub fn for_user(user: &str) -> Self {
        Self {
            sub: user.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            exp: chrono::Utc::now().timestamp() + 600,
            nbf: None,
        }
    }
}

pub fn sign(claims: &Claims, secret: &str) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A valid user JWT.
pub fn user_jwt(user: &str) -> String {
    sign(&Claims::for_user(user), JWT_SECRET)
}

impl TestServer {
    pub async fn start(mode: Mode) -> Self {
        Self::with(mode, "").await
    }

    /// `extra` is appended to the generated `tether.toml`.
    pub async fn with(mode: Mode, extra: &str) -> Self {
        Self::with_clock(mode, extra, Arc::new(tether_core::clock::SystemClock)).await
    }

    /// A server whose connect links and console sessions ask `clock` the time.
    pub async fn with_clock(
        mode: Mode,
        extra: &str,
        clock: Arc<dyn tether_core::clock::Clock>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let mut toml = format!(
            "data_dir = {data:?}\nlisten = \"127.0.0.1:0\"\njwt_secret = {JWT_SECRET:?}\n\
             jwt_issuer = {ISSUER:?}\njwt_audience = {AUDIENCE:?}\nreturn_to = {RETURN_TO:?}\n\
             sandbox = \"on\"\nlog_level = \"debug\"\n",
            data = data_dir.display().to_string(),
        );
        let (db, database_url, encryption_key, redis_prefix) = match mode {
            Mode::Embedded => (
                None,
                format!("sqlite://{}?mode=rwc", data_dir.join("tether.db").display()),
                None,
                None,
            ),
            Mode::Production | Mode::PostgresOnly => {
                let db = TestDb::empty(Engine::Postgres).await;
                let key = tether_storage::TokenCipher::generate_key()
                    .expose_secret()
                    .to_owned();
                toml.push_str(&format!(
                    "database_url = {:?}\nencryption_keys = {key:?}\nauto_migrate = true\n",
                    db.url,
                ));
                let prefix = (mode == Mode::Production).then(|| {
                    let prefix = format!("e2e:{}:", uuid::Uuid::new_v4().simple());
                    toml.push_str(&format!(
                        "redis_url = {:?}\nredis_key_prefix = {prefix:?}\n",
                        tether_testkit::redis_url(),
                    ));
                    prefix
                });
                let url = db.url.clone();
                (Some(db), url, Some(key), prefix)
            }
        };
        toml.push_str(extra);
        let path = dir.path().join("tether.toml");
        std::fs::write(&path, toml).unwrap();
        let config = Config::load(Some(&path)).unwrap();
        let app = Application::build_with_clock(config, clock).await.unwrap();
        let base = format!("http://{}", app.address());
        let sandbox_client_secret = app
            .state()
            .broker()
            .providers()
            .get(tether_core_kind("google"), "")
            .unwrap()
            .client()
            .client_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .unwrap_or_default();
        let handle = app.handle();
        let task = tokio::spawn(app.run_until_stopped());
        Self {
            base,
            database_url,
            encryption_key,
            sandbox_client_secret,
            redis_prefix,
            config_path: path,
            handle,
            _dir: dir,
            _db: db,
            task,
        }
    }

    /// Stops the server as SIGTERM would (graceful, shutdown work done) and starts it again
    /// on the same configuration, address and data: what a restart of `tether serve` does.
    pub async fn restart(&mut self) {
        self.handle.stop(true).await;
        (&mut self.task).await.unwrap().unwrap();
        let port = self.base.rsplit(':').next().unwrap().to_owned();
        let toml = std::fs::read_to_string(&self.config_path).unwrap().replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{port}\""),
        );
        std::fs::write(&self.config_path, toml).unwrap();
        let config = Config::load(Some(&self.config_path)).unwrap();
        let app = Application::build(config).await.unwrap();
        assert_eq!(format!("http://{}", app.address()), self.base);
        self.handle = app.handle();
        self.task = tokio::spawn(app.run_until_stopped());
    }

    /// Another replica on the same configuration (database, Redis, keys), on its own port.
    /// Drop it before `self`.
    pub async fn replica(&self) -> Replica {
        let config = Config::load(Some(&self.config_path)).unwrap();
        let app = Application::build(config).await.unwrap();
        let base = format!("http://{}", app.address());
        Replica {
            base,
            task: tokio::spawn(app.run_until_stopped()),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates an API key directly in the database, as `tether api-keys create` does.
    pub async fn api_key(&self, role: &str) -> String {
        let conn =
            tether_storage::connect(&self.database_url, tether_storage::PoolOptions::default())
                .await
                .unwrap();
        let cipher =
            tether_storage::TokenCipher::new(&[tether_storage::TokenCipher::generate_key()])
                .unwrap();
        let store = tether_storage::SqlStore::new(conn.clone(), Arc::new(cipher));
        let (_, secret) = tether_api::auth::create_key(&store, "e2e", role.parse().unwrap())
            .await
            .unwrap();
        let _ = conn.close().await;
        secret.expose_secret().to_owned()
    }
}

fn tether_core_kind(name: &str) -> tether_core::ProviderKind {
    name.parse().unwrap()
}

/// A browser: keeps cookies, never follows redirects (the test follows them step by step).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A plain HTTP client for API calls.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn location(response: &reqwest::Response) -> url::Url {
    let text = response.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap();
    url::Url::parse(text).unwrap()
}

pub fn query(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// How a connect flow ended.
#[derive(Debug, Default)]
pub struct Connected {
    pub integration_id: String,
    pub redirect: Option<url::Url>,
}

/// A flow between the start step and the provider's consent page.
#[derive(Debug)]
pub struct Flow {
    /// The start token from `start_url`.
    pub flow: String,
    /// The browser-binding cookie's value.
    pub cookie: String,
    /// The provider's authorize URL the browser was sent to.
    pub authorize: url::Url,
}

/// The browser-binding cookie's value the start step set (HttpOnly, SameSite=Lax).
pub fn binding_cookie(to_provider: &reqwest::Response) -> String {
    let cookie = to_provider
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tether_oauth_"))
        .expect("the start step binds the flow to this browser");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

/// Steps 1 and 2: authorize (the frontend, with the user's JWT), then start (the browser).
pub async fn begin(
    server: &TestServer,
    browser: &reqwest::Client,
    jwt: &str,
    provider: &str,
) -> Flow {
    let started = post_json(
        &server.url(&format!("/api/v1/integrations/{provider}/authorize")),
        jwt,
        &json!({ "return_to": format!("{RETURN_TO}/integrations") }),
    )
    .await;
    let start_url = url::Url::parse(started["start_url"].as_str().unwrap()).unwrap();
    let to_provider = browser.get(start_url.as_str()).send().await.unwrap();
    assert_eq!(to_provider.status(), StatusCode::FOUND);
    Flow {
        flow: query(&start_url)["flow"].clone(),
        cookie: binding_cookie(&to_provider),
        authorize: location(&to_provider),
    }
}

/// The user at the sandbox's consent page allows every requested scope: returns the
/// provider's redirect to Tether's callback.
pub async fn consent(browser: &reqwest::Client, flow: &Flow, username: &str) -> url::Url {
    let params = query(&flow.authorize);
    let mut form: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "scope")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    form.push(("requested_scope".into(), params["scope"].clone()));
    form.push(("username".into(), username.into()));
    form.push(("decision".into(), "allow".into()));
    form.extend(
        params["scope"]
            .split(' ')
            .map(|s| ("scope".to_owned(), s.to_owned())),
    );
    let mut consent_url = flow.authorize.clone();
    consent_url.set_query(None);
    let back = browser
        .post(consent_url.as_str())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::FOUND);
    location(&back)
}

/// Step 3: the browser follows the provider's redirect to Tether's callback.
pub async fn finish(browser: &reqwest::Client, callback: &url::Url) -> Connected {
    let done = browser.get(callback.as_str()).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::FOUND, "{:?}", done.text().await);
    let redirect = location(&done);
    let outcome = query(&redirect);
    assert_eq!(outcome["outcome"], "connected", "{outcome:?}");
    Connected {
        integration_id: outcome["integration_id"].clone(),
        redirect: Some(redirect),
    }
}

/// The whole connect flow as a browser would do it.
pub async fn connect(
    server: &TestServer,
    browser: &reqwest::Client,
    jwt: &str,
    provider: &str,
    username: &str,
) -> Connected {
    let flow = begin(server, browser, jwt, provider).await;
    let callback = consent(browser, &flow, username).await;
    finish(browser, &callback).await
}

/// The answer is `status` with the error body `{code, message}` carrying `code`.
pub async fn expect_error(response: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(
        response.status(),
        status,
        "{} {:?}",
        response.url(),
        response.headers()
    );
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        response.headers()
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(!body["message"].as_str().unwrap().is_empty(), "{body}");
}

/// `GET url` with a bearer: the JSON answer (any status).
pub async fn get_json(url: &str, bearer: &str) -> Value {
    client()
        .get(url)
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `POST url` with a bearer and a JSON body: the JSON answer (any status).
pub async fn post_json(url: &str, bearer: &str, body: &Value) -> Value {
    client()
        .post(url)
        .bearer_auth(bearer)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Runs `$name(Mode)` as `embedded::$name` and `postgres::redis::$name`.
#[macro_export]
macro_rules! both_modes {
    ($($name:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Mode::Embedded).await;
                }
            )+
        }
        mod postgres {
            mod redis {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        super::super::$name($crate::support::Mode::Production).await;
                    }
                )+
            }
        }
    };
}
