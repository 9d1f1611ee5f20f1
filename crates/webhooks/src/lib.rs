//! Tether's signed webhooks: the status-change events of the outbox, delivered to the
//! endpoints operators register.
//!
//! - [`signing`]: the Standard Webhooks format (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature: v1,…` HMAC-SHA256 with a `whsec_` secret; two signatures while a
//!   rotated secret is in its grace period).
//! - [`destination`] and [`sender`]: one HTTP attempt with timeouts, no redirects, a small
//!   answer read, and destinations checked against SSRF (https only, no private addresses,
//!   checked again at connect time by the DNS resolver, unless configured otherwise).
//! - [`Webhooks`]: endpoint management for the admin API and the CLI, and the delivery
//!   worker every replica runs (claims with a lease, per-integration order, retries with
//!   backoff for more than a day, automatic disabling of an endpoint that keeps failing).
//!
//! Depends only on the core ports: the server wires the storage in.

mod clock;
pub mod destination;
mod error;
mod observer;
mod schedule;
pub mod sender;
mod service;
mod settings;
pub mod signing;
mod worker;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{WebhookError, WebhookResult};
pub use observer::WebhookObserver;
pub use schedule::RetrySchedule;
pub use service::{DeliveryPage, EndpointChange, NewEndpoint, TestSend, Webhooks};
pub use settings::WebhookSettings;
pub use worker::PassReport;
