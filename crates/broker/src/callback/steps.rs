//! The callback's checks that need no I/O: parameter sizes and the state, the flow's
//! provider, browser binding and expiry, the `iss` parameter, and an error the provider
//! sent back instead of a code. Each either passes or stops the callback with an outcome.

use chrono::Utc;
use tether_core::provider::Provider;
use tether_core::state::StateError;
use tether_core::{ProviderKind, StorageError};

use super::CallbackParams;
use super::ConnectOutcome::{Denied, Error, Expired};
use super::outcome::{Failure, clip, fail};
use crate::error::BrokerError;
use crate::flow::{MAX_PARAM_LEN, PendingFlow};
use crate::random;

/// Why the callback stopped early: an outcome to report to the user, or an internal failure.
pub(super) enum Stop {
    Report(Failure),
    Fail(BrokerError),
}

impl From<BrokerError> for Stop {
    fn from(e: BrokerError) -> Self {
        Stop::Fail(e)
    }
}

impl From<StorageError> for Stop {
    fn from(e: StorageError) -> Self {
        Stop::Fail(e.into())
    }
}

impl From<StateError> for Stop {
    fn from(e: StateError) -> Self {
        Stop::Fail(e.into())
    }
}

fn report(outcome: super::ConnectOutcome, message: impl Into<String>, trusted: bool) -> Stop {
    Stop::Report(fail(outcome, message, trusted))
}

/// The `state` parameter, when every parameter has a sane size.
pub(super) fn checked_state(params: &CallbackParams) -> Result<&str, Stop> {
    let oversized = [
        &params.state,
        &params.code,
        &params.error,
        &params.error_description,
        &params.iss,
    ]
    .iter()
    .any(|p| p.as_ref().is_some_and(|v| v.len() > MAX_PARAM_LEN));
    if oversized {
        return Err(report(
            Error,
            "The provider's answer was malformed (a parameter is too long).",
            false,
        ));
    }
    params
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            report(
                Error,
                "The provider's answer has no state; start connecting again.",
                false,
            )
        })
}

/// The flow belongs to this provider's callback, to this browser, and has not expired.
pub(super) fn check_flow(
    flow: &PendingFlow,
    provider_kind: ProviderKind,
    binding_cookie: Option<&str>,
) -> Result<(), Stop> {
    if flow.provider != provider_kind {
        return Err(report(
            Error,
            "This answer was meant for another provider; start connecting again.",
            false,
        ));
    }
    let bound = match (&flow.binding_hash, binding_cookie) {
        (Some(hash), Some(cookie)) => random::constant_time_eq(hash, &random::sha256(cookie)),
        _ => false,
    };
    if !bound {
        return Err(report(
            Error,
            "This sign-in was started in another browser; start connecting again here.",
            false,
        ));
    }
    if flow.expires_at <= Utc::now() {
        return Err(report(
            Expired,
            "The sign-in took too long and expired; please connect again.",
            true,
        ));
    }
    Ok(())
}

/// The mix-up defence: an `iss` parameter must name the flow's issuer, and providers that
/// always send one must have sent it.
pub(super) fn check_issuer(
    params: &CallbackParams,
    flow: &PendingFlow,
    provider: &dyn Provider,
) -> Result<(), Stop> {
    match (&params.iss, &flow.issuer) {
        (Some(iss), Some(expected)) if iss != expected => Err(report(
            Error,
            "The answer came from an unexpected issuer; start connecting again.",
            false,
        )),
        (None, _) if provider.capabilities().requires_issuer_parameter => Err(report(
            Error,
            "The provider's answer did not name its issuer; start connecting again.",
            false,
        )),
        _ => Ok(()),
    }
}

/// An `error` the provider sent instead of a code (`access_denied` and friends).
pub(super) fn check_provider_error(
    params: &CallbackParams,
    flow: &PendingFlow,
) -> Result<(), Stop> {
    let Some(error) = params.error.as_deref() else {
        return Ok(());
    };
    let detail = params.error_description.as_deref().map(clip);
    Err(match error {
        "access_denied" => report(
            Denied,
            "You declined the request, so nothing was connected.",
            true,
        ),
        other => report(
            Error,
            format!(
                "{} refused the request ({}){}",
                flow.provider.display_name(),
                clip(other),
                detail.map(|d| format!(": {d}")).unwrap_or_default()
            ),
            true,
        ),
    })
}
