//! The `webhook_endpoints` and `webhook_deliveries` tables. The endpoint's secrets are Fernet
//! ciphertexts, decrypted by the webhook repository, which holds the cipher.

pub(crate) mod endpoints {
    use sea_orm::entity::prelude::*;

    pub(crate) const TABLE: &str = "webhook_endpoints";
    pub(crate) const SECRET: &str = "secret";
    pub(crate) const PREVIOUS_SECRET: &str = "previous_secret";

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_endpoints")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub url: String,
        pub description: String,
        pub event_types: Json,
        pub enabled: bool,
        pub disabled_reason: Option<String>,
        pub disabled_at: Option<DateTimeUtc>,
        pub failing_since: Option<DateTimeUtc>,
        pub secret: String,
        pub previous_secret: Option<String>,
        pub previous_secret_expires_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod deliveries {
    use sea_orm::entity::prelude::*;

    pub(crate) const TABLE: &str = "webhook_deliveries";

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub endpoint_id: Uuid,
        pub event_seq: i64,
        pub ordering_key: String,
        pub blocked: bool,
        pub status: String,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        pub claimed_until: Option<DateTimeUtc>,
        pub last_attempt_at: Option<DateTimeUtc>,
        pub last_status_code: Option<i32>,
        pub last_latency_ms: Option<i64>,
        pub last_error: Option<String>,
        pub delivered_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
