//! Running the built binary in a scratch directory with a clean `TETHER_*` environment, and a
//! server guard that finds the bound address in the logs and kills the process on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A scratch directory to run `tether` in; `./data` inside it is the default data dir.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn key_file(&self) -> PathBuf {
        self.data_dir().join("tether.key")
    }

    /// `tether ARGS` with only the given `TETHER_*` variables (the test harness's own
    /// `TETHER_TEST_*` ones are ignored by tether), serving on a free port.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tether"));
        command.args(args).current_dir(self.dir.path());
        for (name, _) in std::env::vars() {
            if name.starts_with("TETHER_") && !name.starts_with("TETHER_TEST_")
                || name == "RUST_LOG"
            {
                command.env_remove(name);
            }
        }
        command.env("TETHER_LISTEN", "127.0.0.1:0");
        // Serving with PostgreSQL needs a JWT setting; a test can unset it with "".
        command.env("TETHER_JWT_SECRET", TEST_JWT_SECRET);
        command.envs(env.iter().copied());
        command
    }

    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        Run(self.command(args, env).output().unwrap())
    }

    pub fn serve(&self, env: &[(&str, &str)]) -> Server {
        Server::start(self.command(&["serve"], env))
    }
}

/// A finished command.
pub struct Run(pub Output);

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(
            self.0.status.success(),
            "failed: {}\n{}",
            self.0.status,
            self.stderr()
        );
        self
    }

    /// Asserts failure with a single `error: …` line on stderr, and returns the message.
    #[track_caller]
    pub fn error(&self) -> String {
        assert!(
            !self.0.status.success(),
            "unexpectedly succeeded:\n{}",
            self.stderr()
        );
        let stderr = self.stderr();
        let line = stderr
            .lines()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or_else(|| panic!("no `error: ` line in:\n{stderr}"));
        assert_eq!(stderr.matches("error: ").count(), 1, "{stderr}");
        line.to_owned()
    }
}

/// A running `tether serve`, killed when dropped.
pub struct Server {
    child: Child,
    pub base_url: String,
    logs: Receiver<String>,
}

impl Server {
    fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, logs) = channel();
        // Keep draining stderr for the whole life of the process so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut seen = Vec::new();
        let base_url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match logs.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = listening_url(&line) {
                        break url;
                    }
                    seen.push(line);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = child.wait().unwrap();
                    panic!(
                        "tether serve exited ({status}) before listening:\n{}",
                        seen.join("\n")
                    );
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    panic!(
                        "tether serve did not listen within {START_TIMEOUT:?}:\n{}",
                        seen.join("\n")
                    );
                }
            }
        };
        Self {
            child,
            base_url,
            logs,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited cleanly and
    /// the log lines written meanwhile.
    pub fn terminate(mut self) -> (bool, Vec<String>) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        (status.success(), self.logs.try_iter().collect())
    }
}

impl Server {
    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill_hard(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-KILL", &pid]).status().unwrap();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `http://127.0.0.1:PORT` from the start-up line, in either log format.
fn listening_url(line: &str) -> Option<String> {
    let start = line.find("listening on http://")? + "listening on ".len();
    let url: String = line[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.' | '[' | ']'))
        .collect();
    Some(url)
}

/// Checks the mode bits of a file.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

pub fn new_key() -> String {
    fernet::Fernet::generate_key()
}

/// Stores an OAuth state encrypted with `key` straight into the database, as an earlier run
/// with that key would have.
pub async fn store_secret_encrypted_with(url: &str, key: &str) {
    use sea_orm::ConnectionTrait;
    use tether_core::secret::EncryptionKey;
    let conn = tether_storage::connect(url, tether_storage::PoolOptions::default())
        .await
        .unwrap();
    let cipher = tether_storage::TokenCipher::new(&[EncryptionKey::new(key)]).unwrap();
    let context = tether_storage::CipherContext::new("oauth_states", "payload", "state-1");
    let ciphertext = cipher.encrypt(&context, "{}");
    let sql = format!(
        "INSERT INTO oauth_states (state_key, payload, expires_at, created_at) \
         VALUES ('state-1', '{ciphertext}', '2099-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"
    );
    conn.execute_unprepared(&sql).await.unwrap();
    conn.close().await.unwrap();
}

/// The HS256 secret the test servers verify user JWTs with.
pub const TEST_JWT_SECRET: &str = "test-jwt-secret-that-is-at-least-32-characters";
