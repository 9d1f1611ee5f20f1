//! What `/readyz` checks: the database answers a ping, and Redis when it is configured.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use tether_api::ReadinessCheck;
use tether_state::RedisState;

const TIMEOUT: Duration = Duration::from_secs(2);

pub struct Database(pub DatabaseConnection);

#[async_trait]
impl ReadinessCheck for Database {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn check(&self) -> Result<(), String> {
        match tokio::time::timeout(TIMEOUT, self.0.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                tracing::warn!(%error, "readiness: the database ping failed");
                Err("error".into())
            }
            Err(_) => Err("timeout".into()),
        }
    }
}

pub struct Redis(pub Arc<RedisState>);

#[async_trait]
impl ReadinessCheck for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn check(&self) -> Result<(), String> {
        match tokio::time::timeout(TIMEOUT, self.0.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                tracing::warn!(%error, "readiness: Redis is unavailable");
                Err("unavailable".into())
            }
            Err(_) => Err("timeout".into()),
        }
    }
}
