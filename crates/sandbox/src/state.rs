//! `SandboxState`: the shared, in-memory state behind every handler (config, store, switches).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::config::{ClientConfig, SandboxConfig, validate_issuer};
use crate::controls::{SandboxControls, Stats};
use crate::error::{Result, SandboxError};
use crate::store::{Lifetimes, Store};
use crate::switchboard::Switchboard;

/// Shared sandbox state; cheap to clone. Build one to mount the routes with [`crate::configure`].
#[derive(Clone)]
pub struct SandboxState {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    config: SandboxConfig,
    store: Mutex<Store>,
    switchboard: Mutex<Switchboard>,
}

impl SandboxState {
    /// Validates `config` and builds the state. `config.issuer` is required here: it is the
    /// public base URL the routes are served under (e.g. `http://127.0.0.1:8080/sandbox`).
    pub fn new(config: SandboxConfig) -> Result<Self> {
        config.validate()?;
        let issuer = config
            .issuer
            .as_deref()
            .ok_or_else(|| {
                SandboxError::Config("issuer must be set to the sandbox's base URL".into())
            })?
            .trim_end_matches('/')
            .to_owned();
        validate_issuer(&issuer)?;
        let switchboard = Switchboard::new(config.access_token_ttl);
        Ok(Self {
            inner: Arc::new(Inner {
                issuer,
                config,
                store: Mutex::new(Store::default()),
                switchboard: Mutex::new(switchboard),
            }),
        })
    }

    /// The grants and tokens (hashed) as JSON, for an application that keeps them across
    /// restarts ([`SandboxState::restore`]). Authorization codes are not included.
    pub fn snapshot(&self) -> String {
        self.store().snapshot()
    }

    /// Replaces the grants and tokens with those of a [`SandboxState::snapshot`]; a snapshot
    /// that cannot be read changes nothing and says why.
    pub fn restore(&self, snapshot: &str) -> Result<()> {
        let restored = Store::from_snapshot(snapshot).map_err(SandboxError::Snapshot)?;
        *self.store() = restored;
        Ok(())
    }

    /// The issuer identifier, which is also the base URL of every endpoint.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The test switches.
    pub fn controls(&self) -> SandboxControls {
        SandboxControls::new(self.clone())
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.controls().stats()
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.issuer)
    }

    pub(crate) fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    pub(crate) fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.inner
            .config
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
    }

    // A panic while holding a lock cannot leave the maps half-updated in a way that matters
    // for a sandbox, so a poisoned lock is simply taken over.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.inner
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn switchboard(&self) -> MutexGuard<'_, Switchboard> {
        self.inner
            .switchboard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            access: self.switchboard().access_ttl,
            refresh: self.inner.config.refresh_token_ttl,
        }
    }
}

impl fmt::Debug for SandboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxState")
            .field("issuer", &self.inner.issuer)
            .field("clients", &self.inner.config.clients.len())
            .finish_non_exhaustive()
    }
}
