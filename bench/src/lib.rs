//! Load-test helpers shared by the bench binaries: seeding integrations through the storage
//! API, and the rotating bench refresh tokens.

pub mod rotation;
pub mod seed;

/// The errors of the bench tools: they only report them.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;
