//! Tether provider crate for Orange's SMS API (Africa & Middle East, `api.orange.com`):
//! an app-level provider with no user — client credentials only.
//!
//! Build it with [`OrangeProvider::new`] from
//! [`ProviderSettings`](tether_core::provider::ProviderSettings) and the server's
//! `reqwest::Client`.
//!
//! # Endpoints (all overridable by name)
//!
//! | name | default |
//! |---|---|
//! | `token` | `https://api.orange.com/oauth/v3/token` |
//! | `api_base` | `https://api.orange.com` (send: `{api_base}/smsmessaging/v1/outbound/{sender}/requests`; balance: `{api_base}/sms/admin/v1/contracts`) |
//!
//! There is no authorize, revocation or userinfo endpoint.
//!
//! # Options
//!
//! - `sender_address` — the default sender number in E.164 (`+2250000` or `tel:+2250000`;
//!   many countries use the generic `tel:+<country code>0000`). Used when a request names
//!   none.
//! - `sender_name` — the default approved sender name (registered with Orange beforehand).
//!
//! # Behaviour
//!
//! - Token: `POST` with `Authorization: Basic base64(client_id:client_secret)`,
//!   `Accept: application/json`, body `grant_type=client_credentials`; `expires_in` comes as
//!   a string (`"3600"`). No refresh token, no scopes, no revocation.
//! - Expired token: a 401 with gateway code 42. [`OrangeProvider::send_sms`] and
//!   [`OrangeProvider::balance`] take an [`AppTokenSource`](tether_core::provider::AppTokenSource),
//!   report the rejected token once and retry the call once.
//! - Errors: the gateway's `{code, message, description}` and the SMS service's
//!   `requestError` (`serviceException` / `policyException`, `%1` placeholders filled from
//!   `variables`) become clear messages ("insufficient SMS balance", "sender name not
//!   approved", …) in the core error classes.
//! - Identity: the client id (there is no user). Test connection: the contracts call.

mod api;
mod contracts;
mod errors;
mod phone;
mod provider;
mod request_error;
mod segments;
mod sms;
mod sms_sender;

pub use contracts::SmsContract;
pub use provider::{OPTION_NAMES, OrangeProvider};
pub use segments::{SegmentCount, SmsEncoding, count_segments};
pub use sms::{SmsRequest, SmsSent};
