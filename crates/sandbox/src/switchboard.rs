//! The mutable test switches (armed failures, delay, down, token lifetime) and call counters.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::controls::{Failure, GrantCounts, GrantType};

/// Failures armed for upcoming token-endpoint calls.
#[derive(Debug)]
struct FailureRule {
    failure: Failure,
    grant_type: Option<GrantType>,
    remaining: u32,
}

/// What the token or revocation endpoint must do before its real work.
#[derive(Debug)]
pub(crate) struct Gate {
    pub(crate) down: bool,
    pub(crate) delay: Option<Duration>,
    pub(crate) failure: Option<Failure>,
}

#[derive(Debug)]
pub(crate) struct Switchboard {
    rules: Vec<FailureRule>,
    pub(crate) delay: Option<Duration>,
    pub(crate) down: bool,
    pub(crate) access_ttl: Duration,
    pub(crate) token_calls: BTreeMap<String, GrantCounts>,
    pub(crate) revocations: u64,
    pub(crate) injected_failures: u64,
}

impl Switchboard {
    pub(crate) fn new(access_ttl: Duration) -> Self {
        Self {
            rules: Vec::new(),
            delay: None,
            down: false,
            access_ttl,
            token_calls: BTreeMap::new(),
            revocations: 0,
            injected_failures: 0,
        }
    }

    pub(crate) fn arm(&mut self, failure: Failure, grant_type: Option<GrantType>, count: u32) {
        if count > 0 {
            self.rules.push(FailureRule {
                failure,
                grant_type,
                remaining: count,
            });
        }
    }

    pub(crate) fn record_token_call(&mut self, client_id: &str, grant_type: Option<GrantType>) {
        let counts = self.token_calls.entry(client_id.to_owned()).or_default();
        match grant_type {
            Some(GrantType::AuthorizationCode) => counts.authorization_code += 1,
            Some(GrantType::RefreshToken) => counts.refresh_token += 1,
            Some(GrantType::ClientCredentials) => counts.client_credentials += 1,
            None => counts.other += 1,
        }
    }

    /// Consumes the first armed failure that applies to this grant type, oldest first.
    pub(crate) fn token_gate(&mut self, grant_type: Option<GrantType>) -> Gate {
        if self.down {
            self.injected_failures += 1;
            return self.revoke_gate();
        }
        let rule = self
            .rules
            .iter_mut()
            .find(|r| r.grant_type.is_none() || r.grant_type == grant_type);
        let failure = rule.map(|r| {
            r.remaining -= 1;
            r.failure
        });
        self.rules.retain(|r| r.remaining > 0);
        if failure.is_some() {
            self.injected_failures += 1;
        }
        Gate {
            down: false,
            delay: self.delay,
            failure,
        }
    }

    pub(crate) fn revoke_gate(&self) -> Gate {
        Gate {
            down: self.down,
            delay: self.delay,
            failure: None,
        }
    }
}
