//! The time the delivery code asks for (the core's clock): the system clock in production, a
//! clock tests move by hand so retries and leases are exact without sleeping.

pub use tether_core::clock::{Clock, ManualClock, SystemClock};
