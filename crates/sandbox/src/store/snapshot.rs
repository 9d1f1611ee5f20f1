//! The store as JSON, so an embedding application can keep the sandbox's grants across
//! restarts. Tokens are kept as their SHA-256 only (as in memory); expiry instants travel as
//! wall-clock milliseconds and come back relative to the new process's clock. Authorization
//! codes (single use, minutes long) are not kept.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{AccessRecord, Grant, GrantId, RefreshRecord, Store};
use crate::crypto::TokenHash;
use crate::scope::Scopes;

const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    next_grant: GrantId,
    grants: Vec<GrantOut>,
    access: Vec<AccessOut>,
    refresh: Vec<RefreshOut>,
}

#[derive(Serialize, Deserialize)]
struct GrantOut {
    id: GrantId,
    client_id: String,
    username: Option<String>,
    scopes: String,
    revoked: bool,
}

#[derive(Serialize, Deserialize)]
struct AccessOut {
    hash: String,
    grant: GrantId,
    scopes: String,
    expires_at_ms: i64,
    revoked: bool,
}

#[derive(Serialize, Deserialize)]
struct RefreshOut {
    hash: String,
    grant: GrantId,
    expires_at_ms: Option<i64>,
    used: bool,
}

/// Converts between this process's `Instant`s and wall-clock milliseconds. One per store,
/// taken when it is created, so two snapshots of an unchanged store are identical.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    instant: Instant,
    unix_ms: i64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::now()
    }
}

impl Clock {
    fn now() -> Self {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self {
            instant: Instant::now(),
            unix_ms,
        }
    }

    fn to_ms(self, at: Instant) -> i64 {
        let offset = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        match at.checked_duration_since(self.instant) {
            Some(ahead) => self.unix_ms.saturating_add(offset(ahead)),
            None => self
                .unix_ms
                .saturating_sub(offset(self.instant.duration_since(at))),
        }
    }

    /// The instant of a wall-clock time; a time too far in the past for this process's clock
    /// becomes "now", which is past every expiry it could mean anyway once pruned.
    fn to_instant(self, ms: i64) -> Instant {
        let delta = Duration::from_millis(ms.abs_diff(self.unix_ms));
        if ms >= self.unix_ms {
            self.instant + delta
        } else {
            self.instant.checked_sub(delta).unwrap_or(self.instant)
        }
    }
}

fn scopes(text: &str) -> Result<Scopes, String> {
    Scopes::parse([text])
}

impl Store {
    /// The grants and tokens as JSON.
    pub(crate) fn snapshot(&self) -> String {
        let clock = self.clock;
        let mut grants: Vec<GrantOut> = self
            .grants
            .iter()
            .map(|(id, g)| GrantOut {
                id: *id,
                client_id: g.client_id.clone(),
                username: g.username.clone(),
                scopes: g.scopes.to_string(),
                revoked: g.revoked,
            })
            .collect();
        grants.sort_by_key(|g| g.id);
        let mut access: Vec<AccessOut> = self
            .access
            .iter()
            .map(|(hash, a)| AccessOut {
                hash: hash.to_hex(),
                grant: a.grant,
                scopes: a.scopes.to_string(),
                expires_at_ms: clock.to_ms(a.expires_at),
                revoked: a.revoked,
            })
            .collect();
        access.sort_by(|a, b| a.hash.cmp(&b.hash));
        let mut refresh: Vec<RefreshOut> = self
            .refresh
            .iter()
            .map(|(hash, r)| RefreshOut {
                hash: hash.to_hex(),
                grant: r.grant,
                expires_at_ms: r.expires_at.map(|at| clock.to_ms(at)),
                used: r.used,
            })
            .collect();
        refresh.sort_by(|a, b| a.hash.cmp(&b.hash));
        let snapshot = Snapshot {
            format: FORMAT,
            next_grant: self.next_grant,
            grants,
            access,
            refresh,
        };
        // Plain data: serialising it cannot fail.
        serde_json::to_string(&snapshot).unwrap_or_default()
    }

    /// A store holding what `json` (from [`Store::snapshot`]) held, codes aside.
    pub(crate) fn from_snapshot(json: &str) -> Result<Self, String> {
        let snapshot: Snapshot =
            serde_json::from_str(json).map_err(|e| format!("not a sandbox snapshot: {e}"))?;
        if snapshot.format != FORMAT {
            return Err(format!(
                "sandbox snapshot format {} is not {FORMAT}",
                snapshot.format
            ));
        }
        let mut store = Store {
            next_grant: snapshot.next_grant,
            ..Store::default()
        };
        let clock = store.clock;
        for g in snapshot.grants {
            store.grants.insert(
                g.id,
                Grant {
                    client_id: g.client_id,
                    username: g.username,
                    scopes: scopes(&g.scopes)?,
                    revoked: g.revoked,
                },
            );
        }
        for a in snapshot.access {
            store.access.insert(
                TokenHash::from_hex(&a.hash)?,
                AccessRecord {
                    grant: a.grant,
                    scopes: scopes(&a.scopes)?,
                    expires_at: clock.to_instant(a.expires_at_ms),
                    revoked: a.revoked,
                },
            );
        }
        for r in snapshot.refresh {
            store.refresh.insert(
                TokenHash::from_hex(&r.hash)?,
                RefreshRecord {
                    grant: r.grant,
                    expires_at: r.expires_at_ms.map(|ms| clock.to_instant(ms)),
                    used: r.used,
                },
            );
        }
        Ok(store)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;
    use crate::store::Lifetimes;

    #[test]
    fn grants_and_tokens_survive_a_snapshot_and_codes_do_not() {
        let mut store = Store::default();
        let grant = store.new_grant("client-1", Some("alice".into()), scopes("email").unwrap());
        let issued = store.issue(
            grant,
            scopes("email").unwrap(),
            true,
            Lifetimes {
                access: Duration::from_secs(3600),
                refresh: None,
            },
        );
        let json = store.snapshot();
        assert_eq!(
            store.snapshot(),
            json,
            "an unchanged store snapshots the same"
        );
        assert!(
            !json.contains(&issued.access_token),
            "tokens are kept hashed"
        );
        let restored = Store::from_snapshot(&json).unwrap();
        assert_eq!(restored.snapshot(), json);
        let access = restored
            .access
            .get(&TokenHash::of(&issued.access_token))
            .unwrap();
        let left = access.expires_at.duration_since(Instant::now());
        assert!(left > Duration::from_secs(3590) && left <= Duration::from_secs(3600));
        assert!(
            restored
                .refresh
                .contains_key(&TokenHash::of(issued.refresh_token.as_deref().unwrap()))
        );
        assert_eq!(restored.next_grant, store.next_grant);
    }

    #[test]
    fn a_damaged_snapshot_is_refused_not_half_loaded() {
        assert!(Store::from_snapshot("{").is_err());
        assert!(
            Store::from_snapshot(
                r#"{"format":2,"next_grant":0,"grants":[],"access":[],"refresh":[]}"#
            )
            .is_err()
        );
        let bad_hash = r#"{"format":1,"next_grant":1,"grants":[],"access":[{"hash":"zz","grant":1,"scopes":"","expires_at_ms":0,"revoked":false}],"refresh":[]}"#;
        assert!(Store::from_snapshot(bad_hash).is_err());
    }
}
