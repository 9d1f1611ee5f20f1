//! Stand-alone migration CLI (`DATABASE_URL=… tether-migrations up`); operators normally use
//! `tether migrate`, which runs the same migrations.

#[tokio::main]
async fn main() {
    sea_orm_migration::cli::run_cli(tether_migrations::Migrator).await;
}
