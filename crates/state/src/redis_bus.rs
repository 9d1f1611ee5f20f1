//! Cache invalidations over Redis pub/sub: `PUBLISH` on `{prefix}invalidate`, and one
//! dedicated subscriber connection per process that is pinged every few seconds, so a silent
//! network loss is noticed as surely as a closed connection.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use tether_core::state::{
    Invalidation, InvalidationBus, InvalidationHandler, StateError, StateResult,
};

use crate::RedisStateConfig;
use crate::redis_state::map_err;

/// How often the subscriber connection is checked with a `PING`.
const PING_EVERY: Duration = Duration::from_secs(5);

/// Publishes and follows cache invalidations on Redis.
#[derive(Clone)]
pub struct RedisInvalidations {
    client: redis::Client,
    conn: ConnectionManager,
    channel: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisInvalidations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisInvalidations")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl RedisInvalidations {
    /// Builds the clients without connecting (a Redis that is down is retried).
    pub fn new(config: &RedisStateConfig) -> StateResult<Self> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| StateError::Backend(format!("invalid Redis URL: {:?}", e.kind())))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), manager_config)
            .map_err(map_err)?;
        Ok(Self {
            client,
            conn,
            channel: format!("{}invalidate", config.key_prefix),
            timeout: config.timeout,
        })
    }

    async fn subscribe(&self) -> StateResult<(redis::aio::PubSubSink, redis::aio::PubSubStream)> {
        let pubsub = tokio::time::timeout(self.timeout, self.client.get_async_pubsub())
            .await
            .map_err(|_| StateError::Unavailable("Redis: connecting timed out".into()))?
            .map_err(map_err)?;
        let (mut sink, stream) = pubsub.split();
        tokio::time::timeout(self.timeout, sink.subscribe(&self.channel))
            .await
            .map_err(|_| StateError::Unavailable("Redis: SUBSCRIBE timed out".into()))?
            .map_err(map_err)?;
        Ok((sink, stream))
    }
}

#[async_trait]
impl InvalidationBus for RedisInvalidations {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn publish(&self, message: &Invalidation) -> StateResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(message.encode())
            .query_async::<i64>(&mut conn)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn listen(&self, handler: &dyn InvalidationHandler) -> StateError {
        let (mut sink, mut stream) = match self.subscribe().await {
            Ok(subscription) => subscription,
            Err(e) => return e,
        };
        handler.subscribed();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                message = stream.next() => match message {
                    Some(message) => match message.get_payload::<String>() {
                        Ok(text) => handler.received(Invalidation::decode(&text)),
                        Err(_) => handler.received(Invalidation::All),
                    },
                    None => {
                        return StateError::Unavailable(
                            "Redis: the subscriber connection closed".into(),
                        );
                    }
                },
                _ = ping.tick() => {
                    match tokio::time::timeout(self.timeout, sink.ping::<redis::Value>()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return map_err(e),
                        Err(_) => {
                            return StateError::Unavailable(
                                "Redis: the subscriber connection did not answer PING".into(),
                            );
                        }
                    }
                }
            }
        }
    }
}
