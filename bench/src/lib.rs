//! Load-test helpers shared by the bench binaries: seeding integrations through the storage
//! API, and the rotating loopback token endpoint the refresh-scheduler benchmark points at.

pub mod rotation;
pub mod seed;
pub mod token_endpoint;

/// The errors of the bench tools: they only report them.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;
