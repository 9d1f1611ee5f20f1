//! Secret values: `Debug` prints `[redacted]`, there is no `Serialize` or `Display`, and the
//! only way to the text is `expose_secret()`, so a leak is visible in review.

use secrecy::{ExposeSecret, SecretString};

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident $(, $derive:ident)*) => {
        $(#[$meta])*
        $(#[derive($derive)])*
        pub struct $name(SecretString);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::from(value.into()))
            }

            /// The secret text. Never log it, never put it in an error or a response that
            /// does not exist to carry it.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }

        impl PartialEq for $name {
            /// Constant-time in the length of the shorter value is not needed here: equality
            /// is used by tests and for "did the provider return a new value".
            fn eq(&self, other: &Self) -> bool {
                self.expose_secret() == other.expose_secret()
            }
        }

        impl Eq for $name {}
    };
}

secret_type!(
    /// An OAuth access token.
    AccessToken,
    Clone
);
secret_type!(
    /// An OAuth refresh token.
    RefreshToken,
    Clone
);
secret_type!(
    /// An OAuth client secret.
    ClientSecret,
    Clone
);
secret_type!(
    /// A PKCE code verifier. Deliberately not `Clone`: it is used once.
    PkceVerifier
);
secret_type!(
    /// The plaintext of an API key, shown once at creation.
    ApiKeySecret
);
secret_type!(
    /// A Fernet key (url-safe base64, 32 bytes decoded).
    EncryptionKey,
    Clone
);
secret_type!(
    /// A webhook signing secret: `whsec_` + base64 of 32 random bytes (Standard Webhooks),
    /// shown once at creation and rotation, stored encrypted.
    WebhookSecret,
    Clone
);
secret_type!(
    /// Any other secret: an OAuth state, an authorization code, a browser-binding value.
    OpaqueSecret,
    Clone
);

/// Encrypts a secret kept outside the database (a pending flow in Redis) and binds it to the
/// place it is kept, so a sealed value copied to another place does not open. The token
/// cipher implements it; key rotation applies as to every stored secret.
pub trait Sealer: Send + Sync {
    /// The sealed text of `plaintext`, for `place`.
    fn seal(&self, place: &str, plaintext: &OpaqueSecret) -> String;
    /// The plaintext, when `sealed` was sealed for `place` with a configured key.
    fn open(&self, place: &str, sealed: &str) -> Option<OpaqueSecret>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_the_secret() {
        let token = AccessToken::new("ya29.very-secret");
        let printed = format!("{token:?} {:?}", RefreshToken::new("1//secret-refresh"));
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("[redacted]"));
        assert_eq!(token.expose_secret(), "ya29.very-secret");
    }
}
