//! Redis implementations: flow state with atomic GETDEL, locks with `SET NX PX` and an
//! owner-checked release and extend scripts.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tether_core::ports::TakenFlowState;

use tether_core::secret::{OpaqueSecret, Sealer};
use tether_core::state::{FlowStateStore, LockLease, LockManager, StateError, StateResult};

use crate::key::state_key;

/// How long an expired flow stays takeable, so a late callback hears "expired", not "unknown".
const EXPIRED_GRACE: Duration = Duration::from_secs(600);

const RELEASE_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

const EXTEND_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"#;

#[derive(Debug, Clone)]
pub struct RedisStateConfig {
    pub url: String,
    /// Prepended to every key (`tether:` by default), so tenants and tests never collide.
    pub key_prefix: String,
    /// How long one Redis call may take before the store counts as unavailable.
    pub timeout: Duration,
}

impl RedisStateConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: "tether:".to_owned(),
            timeout: Duration::from_secs(2),
        }
    }
}

/// Flow state and locks on Redis. Connects lazily and reconnects by itself. Flow payloads
/// are sealed (encrypted with the token cipher, bound to their key) before they leave the
/// process, as the database copy is encrypted.
#[derive(Clone)]
pub struct RedisState {
    conn: ConnectionManager,
    prefix: String,
    sealer: Arc<dyn Sealer>,
}

impl std::fmt::Debug for RedisState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisState")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct StoredFlow {
    /// The payload sealed for this flow's key.
    sealed: String,
    expires_at: DateTime<Utc>,
}

impl RedisState {
    /// Builds the client without connecting: a Redis that is down at start-up makes calls
    /// fail with `Unavailable` (and `/readyz` say so) until it is back.
    pub fn new(config: &RedisStateConfig, sealer: Arc<dyn Sealer>) -> StateResult<Self> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| StateError::Backend(format!("invalid Redis URL: {:?}", e.kind())))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn =
            ConnectionManager::new_lazy_with_config(client, manager_config).map_err(map_err)?;
        Ok(Self {
            conn,
            prefix: config.key_prefix.clone(),
            sealer,
        })
    }

    /// Round-trips a PING (for readiness checks).
    pub async fn ping(&self) -> StateResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    fn flow_key(&self, state: &OpaqueSecret) -> String {
        format!("{}flow:{}", self.prefix, state_key(state))
    }

    fn lock_key(&self, name: &str) -> String {
        format!("{}lock:{}", self.prefix, name)
    }
}

pub(crate) fn map_err(e: redis::RedisError) -> StateError {
    if e.is_io_error() || e.is_connection_refusal() || e.is_timeout() || e.is_connection_dropped() {
        StateError::Unavailable(format!("Redis: {:?}", e.kind()))
    } else {
        StateError::Backend(format!("Redis: {:?}", e.kind()))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl FlowStateStore for RedisState {
    async fn put(
        &self,
        state: &OpaqueSecret,
        payload: &OpaqueSecret,
        ttl: Duration,
    ) -> StateResult<()> {
        let expires_at = Utc::now()
            + chrono::Duration::from_std(ttl).map_err(|e| StateError::Backend(e.to_string()))?;
        let key = self.flow_key(state);
        let value = serde_json::to_string(&StoredFlow {
            sealed: self.sealer.seal(&key, payload),
            expires_at,
        })
        .map_err(|e| StateError::Backend(e.to_string()))?;
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl + EXPIRED_GRACE))
            .query_async(&mut conn)
            .await
            .map_err(map_err)?;
        match set {
            Some(_) => Ok(()),
            None => Err(StateError::Duplicate),
        }
    }

    async fn take(&self, state: &OpaqueSecret) -> StateResult<Option<TakenFlowState>> {
        let key = self.flow_key(state);
        let mut conn = self.conn.clone();
        let value: Option<String> = redis::cmd("GETDEL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .map_err(map_err)?;
        let Some(value) = value else {
            return Ok(None);
        };
        let stored: StoredFlow = serde_json::from_str(&value)
            .map_err(|_| StateError::Backend("malformed flow state entry".to_owned()))?;
        // A value that does not open here (another key's, or sealed with a key no longer
        // configured) is refused, not trusted.
        let payload = self.sealer.open(&key, &stored.sealed).ok_or_else(|| {
            StateError::Backend("flow state entry does not open with the configured keys".into())
        })?;
        Ok(Some(TakenFlowState {
            payload,
            expires_at: stored.expires_at,
        }))
    }
}

#[async_trait]
impl LockManager for RedisState {
    async fn try_acquire(&self, name: &str, ttl: Duration) -> StateResult<Option<LockLease>> {
        let owner = crate::new_owner_id();
        let expires_at = Utc::now()
            + chrono::Duration::from_std(ttl).map_err(|e| StateError::Backend(e.to_string()))?;
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.lock_key(name))
            .arg(&owner)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(set.map(|_| LockLease {
            name: name.to_owned(),
            owner,
            expires_at,
        }))
    }

    async fn release(&self, lease: &LockLease) -> StateResult<bool> {
        let mut conn = self.conn.clone();
        let deleted: i64 = redis::Script::new(RELEASE_SCRIPT)
            .key(self.lock_key(&lease.name))
            .arg(&lease.owner)
            .invoke_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(deleted == 1)
    }

    async fn extend(&self, lease: &LockLease, ttl: Duration) -> StateResult<bool> {
        let mut conn = self.conn.clone();
        let extended: i64 = redis::Script::new(EXTEND_SCRIPT)
            .key(self.lock_key(&lease.name))
            .arg(&lease.owner)
            .arg(millis(ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(extended == 1)
    }
}
