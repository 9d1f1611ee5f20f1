//! Running the sandbox as its own HTTP server: `Sandbox::start` and the `SandboxHandle` it returns.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer};
use tokio::task::JoinHandle;

use crate::config::SandboxConfig;
use crate::controls::{SandboxControls, Stats};
use crate::error::{Result, SandboxError};
use crate::http::configure;
use crate::state::SandboxState;

/// Entry point for a stand-alone sandbox.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Binds `config.listen` (port 0 picks a free port), starts serving on the current tokio
    /// runtime and returns at once. With no `config.issuer`, the issuer is `http://` + the
    /// bound address (`127.0.0.1` when bound to an unspecified address).
    pub async fn start(mut config: SandboxConfig) -> Result<SandboxHandle> {
        config.validate()?;
        let listener = TcpListener::bind(config.listen).map_err(|source| SandboxError::Bind {
            addr: config.listen,
            source,
        })?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{}", reachable(addr));
        if config.issuer.is_none() {
            config.issuer = Some(base_url.clone());
        }
        let workers = config.workers;
        let state = SandboxState::new(config)?;
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            let state = app_state.clone();
            App::new().configure(|cfg| configure(cfg, state))
        })
        .workers(workers)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let server_handle = server.handle();
        let task = tokio::spawn(server);
        tracing::info!(%addr, issuer = state.issuer(), "sandbox listening");
        Ok(SandboxHandle {
            state,
            addr,
            base_url,
            server: server_handle,
            task: Some(task),
        })
    }
}

/// Loopback instead of an unspecified address, so the URL is one a client can call.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), addr.port()))
        }
        _ => addr,
    }
}

/// A running sandbox. Dropping it stops the server; [`SandboxHandle::stop`] also waits.
pub struct SandboxHandle {
    state: SandboxState,
    addr: SocketAddr,
    base_url: String,
    server: ServerHandle,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl SandboxHandle {
    /// `http://` + the bound address: where the endpoints are served. Equal to the issuer
    /// unless `config.issuer` named another one (e.g. behind a proxy).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The issuer identifier (RFC 8414 / RFC 9207 `iss`).
    pub fn issuer(&self) -> &str {
        self.state.issuer()
    }

    /// `base_url` + `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (to mount the same sandbox elsewhere, or read its issuer).
    pub fn state(&self) -> &SandboxState {
        &self.state
    }

    /// The test switches.
    pub fn controls(&self) -> SandboxControls {
        self.state.controls()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// Waits until the server stops (it only stops through [`SandboxHandle::stop`] or a drop
    /// of another handle to it, so this is how the binary runs "forever").
    pub async fn wait(&mut self) -> Result<()> {
        match self.task.take() {
            Some(task) => Ok(task.await.map_err(std::io::Error::other)??),
            None => Ok(()),
        }
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        self.server.stop(false).await;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        // `stop` sends the command before returning its future; nothing needs to be awaited.
        drop(self.server.stop(false));
    }
}

impl fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("addr", &self.addr)
            .field("issuer", &self.state.issuer())
            .finish_non_exhaustive()
    }
}
