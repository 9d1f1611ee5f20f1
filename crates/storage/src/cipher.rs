//! `TokenCipher`: Fernet encryption of secrets at rest, bound to the row and column they live in.
//!
//! Fernet has no associated data, so the plaintext carries the owning row's identity
//! (`v1\n{table}.{column}:{row}\n{secret}`) and decryption checks it: a ciphertext copied onto
//! another row or column is refused instead of handing out someone else's token.

use fernet::Fernet;
use tether_core::StorageError;
use tether_core::secret::{EncryptionKey, OpaqueSecret};
use thiserror::Error;

const FORMAT_VERSION: &str = "v1";

/// Where an encrypted value lives; part of the plaintext, checked on decryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CipherContext {
    pub table: &'static str,
    pub column: &'static str,
    /// The owning row's primary key, as text.
    pub row: String,
}

impl CipherContext {
    pub fn new(table: &'static str, column: &'static str, row: impl ToString) -> Self {
        Self {
            table,
            column,
            row: row.to_string(),
        }
    }

    fn header(&self) -> String {
        format!(
            "{FORMAT_VERSION}\n{}.{}:{}\n",
            self.table, self.column, self.row
        )
    }

    fn error(&self, reason: &'static str) -> StorageError {
        StorageError::Decrypt {
            table: self.table,
            column: self.column,
            row: self.row.clone(),
            reason,
        }
    }
}

/// A key list that cannot be used. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CipherError {
    #[error("no encryption key is configured (generate one with `tether keys generate`)")]
    NoKeys,
    #[error(
        "encryption key #{position} (counting from 1, newest first) is not a valid Fernet key: \
         expected 32 bytes in url-safe base64, as printed by `tether keys generate`"
    )]
    InvalidKey { position: usize },
}

/// Encrypts with the newest key, decrypts with any configured key.
#[derive(Clone)]
pub struct TokenCipher {
    /// Newest first; never empty.
    keys: Vec<Fernet>,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCipher")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl TokenCipher {
    /// `keys` newest first. Surrounding whitespace (a trailing newline in a key file) is ignored.
    pub fn new(keys: &[EncryptionKey]) -> Result<Self, CipherError> {
        if keys.is_empty() {
            return Err(CipherError::NoKeys);
        }
        let keys = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                Fernet::new(key.expose_secret().trim())
                    .ok_or(CipherError::InvalidKey { position: i + 1 })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { keys })
    }

    pub fn generate_key() -> EncryptionKey {
        EncryptionKey::new(Fernet::generate_key())
    }

    /// How many keys are configured.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Encrypts `plaintext` for the place `ctx` names, with the newest key.
    pub fn encrypt(&self, ctx: &CipherContext, plaintext: &str) -> String {
        let mut framed = ctx.header();
        framed.push_str(plaintext);
        self.newest().encrypt(framed.as_bytes())
    }

    /// Decrypts a value read from the place `ctx` names, with whichever key works.
    pub fn decrypt(&self, ctx: &CipherContext, ciphertext: &str) -> Result<String, StorageError> {
        let bytes = self
            .keys
            .iter()
            .find_map(|key| key.decrypt(ciphertext).ok())
            .ok_or_else(|| ctx.error("no configured key decrypts it"))?;
        let framed = String::from_utf8(bytes).map_err(|_| ctx.error("malformed plaintext"))?;
        match framed.strip_prefix(&ctx.header()) {
            Some(secret) => Ok(secret.to_owned()),
            None if is_framed(&framed) => Err(ctx.error("it belongs to another row")),
            None => Err(ctx.error("malformed plaintext")),
        }
    }

    /// Whether the newest key decrypts `ciphertext` (key rotation skips such values).
    pub fn is_current(&self, ciphertext: &str) -> bool {
        self.newest().decrypt(ciphertext).is_ok()
    }

    /// Whether any configured key decrypts `ciphertext` (the start-up key check).
    pub fn can_decrypt(&self, ciphertext: &str) -> bool {
        self.keys.iter().any(|key| key.decrypt(ciphertext).is_ok())
    }

    /// The value re-encrypted with the newest key, or `None` when it already is.
    pub fn reencrypt(
        &self,
        ctx: &CipherContext,
        ciphertext: &str,
    ) -> Result<Option<String>, StorageError> {
        if self.is_current(ciphertext) {
            return Ok(None);
        }
        let plaintext = self.decrypt(ctx, ciphertext)?;
        Ok(Some(self.encrypt(ctx, &plaintext)))
    }

    fn newest(&self) -> &Fernet {
        // `new` refuses an empty list, so there is always a first key.
        &self.keys[0]
    }
}

/// Seals values kept outside the database under `sealed.{place}`.
impl tether_core::secret::Sealer for TokenCipher {
    fn seal(&self, place: &str, plaintext: &OpaqueSecret) -> String {
        self.encrypt(
            &CipherContext::new("sealed", "value", place),
            plaintext.expose_secret(),
        )
    }

    fn open(&self, place: &str, sealed: &str) -> Option<OpaqueSecret> {
        self.decrypt(&CipherContext::new("sealed", "value", place), sealed)
            .ok()
            .map(OpaqueSecret::new)
    }
}

/// A well-formed frame of this format (for telling "another row" from garbage).
fn is_framed(framed: &str) -> bool {
    let mut lines = framed.splitn(3, '\n');
    lines.next() == Some(FORMAT_VERSION) && lines.next().is_some() && lines.next().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(row: &str) -> CipherContext {
        CipherContext::new("tokens", "access_token", row)
    }

    fn reason(err: StorageError) -> &'static str {
        match err {
            StorageError::Decrypt { reason, .. } => reason,
            other => panic!("expected a decrypt error, got {other:?}"),
        }
    }

    #[test]
    fn values_round_trip_and_are_not_stored_in_clear() {
        let cipher = TokenCipher::new(&[TokenCipher::generate_key()]).unwrap();
        let secret = "ya29.secret\nwith a newline";
        let ct = cipher.encrypt(&ctx("row-1"), secret);
        assert!(!ct.contains("ya29"));
        assert_eq!(cipher.decrypt(&ctx("row-1"), &ct).unwrap(), secret);
        assert_eq!(
            cipher
                .decrypt(&ctx("row-1"), &cipher.encrypt(&ctx("row-1"), ""))
                .unwrap(),
            ""
        );
    }

    #[test]
    fn sealed_values_open_only_at_their_place() {
        use tether_core::secret::Sealer;
        let cipher = TokenCipher::new(&[TokenCipher::generate_key()]).unwrap();
        let sealed = cipher.seal("flow:abc", &OpaqueSecret::new("{\"verifier\":\"v\"}"));
        assert!(!sealed.contains("verifier"));
        assert_eq!(
            cipher.open("flow:abc", &sealed).unwrap().expose_secret(),
            "{\"verifier\":\"v\"}"
        );
        assert!(cipher.open("flow:abd", &sealed).is_none());
        assert!(cipher.open("flow:abc", "not a fernet token").is_none());
    }

    #[test]
    fn old_keys_still_decrypt_after_a_new_key_is_added() {
        let (k1, k2) = (TokenCipher::generate_key(), TokenCipher::generate_key());
        let old = TokenCipher::new(std::slice::from_ref(&k1)).unwrap();
        let ct = old.encrypt(&ctx("r"), "refresh-me");
        let both = TokenCipher::new(&[k2.clone(), k1]).unwrap();
        assert_eq!(both.decrypt(&ctx("r"), &ct).unwrap(), "refresh-me");
        assert!(!both.is_current(&ct));
        let fresh = both.reencrypt(&ctx("r"), &ct).unwrap().unwrap();
        assert!(both.is_current(&fresh));
        assert!(both.reencrypt(&ctx("r"), &fresh).unwrap().is_none());
        let only_new = TokenCipher::new(&[k2]).unwrap();
        assert_eq!(only_new.decrypt(&ctx("r"), &fresh).unwrap(), "refresh-me");
        assert_eq!(
            reason(only_new.decrypt(&ctx("r"), &ct).unwrap_err()),
            "no configured key decrypts it"
        );
    }

    #[test]
    fn a_value_moved_to_another_row_or_column_is_refused() {
        let cipher = TokenCipher::new(&[TokenCipher::generate_key()]).unwrap();
        let ct = cipher.encrypt(&ctx("row-a"), "token-of-a");
        let err = cipher.decrypt(&ctx("row-b"), &ct).unwrap_err();
        assert!(err.to_string().contains("row-b"), "{err}");
        assert_eq!(reason(err), "it belongs to another row");
        let other_column = CipherContext::new("tokens", "refresh_token", "row-a");
        assert_eq!(
            reason(cipher.decrypt(&other_column, &ct).unwrap_err()),
            "it belongs to another row"
        );
        // A row id that is a prefix of another must not match it.
        let ct = cipher.encrypt(&ctx("row-1"), "x");
        assert!(cipher.decrypt(&ctx("row-10"), &ct).is_err());
    }

    #[test]
    fn tampered_and_foreign_values_are_refused() {
        let key = TokenCipher::generate_key();
        let cipher = TokenCipher::new(std::slice::from_ref(&key)).unwrap();
        let ct = cipher.encrypt(&ctx("r"), "secret");
        let mut chars: Vec<char> = ct.chars().collect();
        let i = chars.len() / 2;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(
            reason(cipher.decrypt(&ctx("r"), &tampered).unwrap_err()),
            "no configured key decrypts it"
        );
        assert!(cipher.decrypt(&ctx("r"), "").is_err());
        assert!(cipher.decrypt(&ctx("r"), "not fernet at all").is_err());
        // Encrypted with the right key but without our framing.
        let raw = Fernet::new(key.expose_secret()).unwrap().encrypt(b"secret");
        assert_eq!(
            reason(cipher.decrypt(&ctx("r"), &raw).unwrap_err()),
            "malformed plaintext"
        );
    }

    #[test]
    fn bad_key_lists_are_refused_naming_the_position_but_not_the_key() {
        assert_eq!(TokenCipher::new(&[]).unwrap_err(), CipherError::NoKeys);
        let bad = EncryptionKey::new("too-short-key-material");
        let err = TokenCipher::new(&[TokenCipher::generate_key(), bad]).unwrap_err();
        assert_eq!(err, CipherError::InvalidKey { position: 2 });
        assert!(err.to_string().contains("#2"));
        assert!(!err.to_string().contains("too-short"));
        let padded =
            EncryptionKey::new(format!("{}\n", TokenCipher::generate_key().expose_secret()));
        assert!(TokenCipher::new(&[padded]).is_ok());
    }

    #[test]
    fn debug_output_does_not_show_keys() {
        let key = TokenCipher::generate_key();
        let cipher = TokenCipher::new(std::slice::from_ref(&key)).unwrap();
        let printed = format!("{cipher:?}");
        assert!(!printed.contains(key.expose_secret()));
        assert!(printed.contains("keys: 1"));
    }
}
