//! Cache invalidations over PostgreSQL `LISTEN/NOTIFY`, for deployments without Redis:
//! `pg_notify` on the channel `tether_invalidate`, and one listening connection per process
//! taken from (and reconnected through) the pool's options, TLS included.

use async_trait::async_trait;
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use tether_core::state::{
    Invalidation, InvalidationBus, InvalidationHandler, StateError, StateResult,
};

/// The channel every replica listens on.
pub const CHANNEL: &str = "tether_invalidate";

/// Publishes and follows cache invalidations on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgInvalidations {
    conn: DatabaseConnection,
}

impl PgInvalidations {
    /// `None` unless `conn` is a PostgreSQL connection.
    pub fn new(conn: DatabaseConnection) -> Option<Self> {
        (conn.get_database_backend() == DbBackend::Postgres).then_some(Self { conn })
    }
}

fn unavailable(e: impl std::fmt::Display) -> StateError {
    StateError::Unavailable(format!("PostgreSQL: {e}"))
}

#[async_trait]
impl InvalidationBus for PgInvalidations {
    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn publish(&self, message: &Invalidation) -> StateResult<()> {
        self.conn
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), message.encode().into()],
            ))
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn listen(&self, handler: &dyn InvalidationHandler) -> StateError {
        let pool = self.conn.get_postgres_connection_pool();
        let mut listener = match PgListener::connect_with(pool).await {
            Ok(listener) => listener,
            Err(e) => return unavailable(e),
        };
        // A lost connection must surface (the cache then clears), not be mended silently.
        listener.eager_reconnect(false);
        if let Err(e) = listener.listen(CHANNEL).await {
            return unavailable(e);
        }
        handler.subscribed();
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    handler.received(Invalidation::decode(notification.payload()));
                }
                Ok(None) => return unavailable("the listening connection was lost"),
                Err(e) => return unavailable(e),
            }
        }
    }
}
