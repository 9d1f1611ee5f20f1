//! Storage keys for flow state: a hash of the state value, so the value itself (a bearer
//! secret for the callback) never sits in Redis or the database.

use sha2::{Digest, Sha256};
use tether_core::secret::OpaqueSecret;

/// Lower-case hex SHA-256 of the state value.
pub(crate) fn state_key(state: &OpaqueSecret) -> String {
    hex::encode(Sha256::digest(state.expose_secret().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_hashes_that_do_not_contain_the_state() {
        let state = OpaqueSecret::new("abc");
        let key = state_key(&state);
        assert_eq!(key.len(), 64);
        assert_eq!(key, state_key(&OpaqueSecret::new("abc")));
        assert_ne!(key, state_key(&OpaqueSecret::new("abd")));
        assert_eq!(
            key,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
