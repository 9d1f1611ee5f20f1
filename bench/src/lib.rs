//! Load-test helpers shared by the bench binaries: seeding integrations and driving status
//! transitions through the storage API, the rotating loopback token endpoint the
//! refresh-scheduler benchmark points at, and the loopback webhook receiver of the events
//! benchmark.

pub mod rotation;
pub mod seed;
pub mod token_endpoint;
pub mod transitions;
pub mod webhook_receiver;

/// The errors of the bench tools: they only report them.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;
