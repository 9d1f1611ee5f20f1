//! Console passwords: argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes), PHC strings
//! with a random salt. Hashing runs off the async workers.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

/// Shortest password accepted.
pub const MIN_LEN: usize = 12;
/// Longest password accepted (bytes), so hashing cost stays bounded.
pub const MAX_LEN: usize = 1024;

/// Why a password is not accepted, in words for the person choosing it.
pub fn check_policy(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_LEN {
        return Err(format!(
            "The password must have at least {MIN_LEN} characters."
        ));
    }
    if password.len() > MAX_LEN {
        return Err(format!("The password must have at most {MAX_LEN} bytes."));
    }
    if password.trim().is_empty() {
        return Err("The password must not be only spaces.".to_owned());
    }
    Ok(())
}

/// A strong random password (128 bits, URL-safe text) for `tether console-users`.
pub fn generate() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hash_blocking(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| format!("password salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing a password: {e}"))
}

fn verify_blocking(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// The argon2id PHC string of `password` (policy not checked here).
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| format!("hashing a password: {e}"))?
}

/// Whether `password` matches the stored hash. With `None` (no such account) a hash is still
/// checked, so a wrong username takes as long as a wrong password.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify_blocking(&password, &stored),
        None => {
            // A fixed, valid hash of a random password nobody knows.
            let _ = verify_blocking(&password, DUMMY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false)
}

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Kq4XnV0WBHUL6dfuHHM3Aw6k9g2i0uVdmMHNNPbMZVs";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains("correct horse"));
        assert!(verify("correct horse battery".into(), Some(stored.clone())).await);
        assert!(!verify("wrong horse battery".into(), Some(stored)).await);
        assert!(!verify("anything at all".into(), None).await);
        assert!(!verify("x".into(), Some("not a hash".into())).await);
    }

    #[test]
    fn the_dummy_hash_parses_so_unknown_accounts_cost_a_real_verification() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn the_policy_names_what_is_wrong() {
        assert!(check_policy("short").unwrap_err().contains("12"));
        assert!(check_policy(&"x".repeat(2000)).is_err());
        assert!(check_policy("            ").is_err());
        assert!(check_policy("a long enough pass").is_ok());
        assert!(
            check_policy(&generate()).is_ok(),
            "generated passwords pass the policy"
        );
    }
}
