//! `tether keys generate|rotate`: new keys, and re-encrypting stored secrets with the newest.

use std::path::Path;

use super::{load, print};
use crate::cli::KeysCommand;
use crate::error::ServerResult;
use crate::{crypto, database};

pub async fn run(file: Option<&Path>, command: KeysCommand) -> ServerResult<()> {
    match command {
        KeysCommand::Generate => print([crypto::generate_key().expose_secret().to_owned()]),
        KeysCommand::Rotate { batch_size } => rotate(file, batch_size).await,
    }
}

async fn rotate(file: Option<&Path>, batch_size: u64) -> ServerResult<()> {
    let config = load(file, true)?;
    let conn = database::open(&config).await?;
    database::prepare(&conn, &config).await?;
    let cipher = crypto::cipher(&config)?;
    // Rotating with keys that read nothing would only report failures: say why instead.
    crypto::self_check(&conn, &cipher).await?;
    let report = tether_storage::rotate_keys(&conn, &cipher, batch_size).await;
    let _ = conn.close().await;
    print([report?.to_string()])
}
