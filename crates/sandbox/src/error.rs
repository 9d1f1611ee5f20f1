//! The crate's error type for configuration and start-up failures.

use std::io;
use std::net::SocketAddr;

/// What can go wrong building or running a sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A setting is unusable; the message names it.
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
    /// A saved state ([`crate::SandboxState::snapshot`]) cannot be read.
    #[error("the saved sandbox state cannot be read: {0}")]
    Snapshot(String),
    /// The listen address could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// Why binding failed.
        source: io::Error,
    },
    /// The HTTP server failed while starting or running.
    #[error("sandbox HTTP server failed: {0}")]
    Server(#[from] io::Error),
}

/// `Result` with [`SandboxError`] as the default error.
pub type Result<T, E = SandboxError> = std::result::Result<T, E>;
