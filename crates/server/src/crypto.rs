//! The one place the server touches `tether_storage`'s cipher and key operations: building the
//! `TokenCipher` from the configured key source and the start-up self-check.

use sea_orm::DatabaseConnection;
use tether_core::secret::EncryptionKey;
use tether_storage::TokenCipher;

use crate::config::{Config, KeySource};
use crate::error::{ServerError, ServerResult};
use crate::keyfile;

pub fn generate_key() -> EncryptionKey {
    TokenCipher::generate_key()
}

/// The cipher for the configured keys, creating the embedded key file on first use.
pub fn cipher(config: &Config) -> ServerResult<TokenCipher> {
    let keys = match &config.encryption_keys {
        KeySource::Configured(keys) => keys.clone(),
        KeySource::KeyFile(path) => keyfile::load_or_create(path, keyfile::ENCRYPTION_KEY)?,
        KeySource::Missing => return Err(crate::config::ConfigError::KeyRequired.into()),
    };
    TokenCipher::new(&keys).map_err(|e| ServerError::Cipher(e.to_string()))
}

/// Refuses to go on when ciphertexts are stored and not one decrypts: a wrong key must not
/// look like every token vanished.
pub async fn self_check(conn: &DatabaseConnection, cipher: &TokenCipher) -> ServerResult<()> {
    let check = tether_storage::check_keys(conn, cipher).await?;
    if check.all_unreadable() {
        return Err(ServerError::KeysUnreadable);
    }
    Ok(())
}
