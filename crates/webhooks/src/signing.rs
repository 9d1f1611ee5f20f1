//! The Standard Webhooks format: `webhook-id`, `webhook-timestamp` (unix seconds) and
//! `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, where the key
//! is the base64-decoded part of the `whsec_` secret. While a rotated-out secret is in its
//! grace period the header carries both signatures, space-separated, so a receiver that still
//! has the old secret and one that has the new one both verify.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use tether_core::secret::WebhookSecret;
use tether_core::webhooks::SigningSecrets;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

const PREFIX: &str = "whsec_";

/// A new secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> WebhookSecret {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    WebhookSecret::new(format!("{PREFIX}{}", STANDARD.encode(key)))
}

/// A stored secret that cannot be used (never shows the secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the endpoint's signing secret is not a whsec_ secret; rotate it")]
pub struct BadSecret;

fn key(secret: &WebhookSecret) -> Result<Vec<u8>, BadSecret> {
    let text = secret.expose_secret();
    let encoded = text.strip_prefix(PREFIX).ok_or(BadSecret)?;
    STANDARD.decode(encoded).map_err(|_| BadSecret)
}

/// `v1,<signature>` of one secret.
pub fn sign(
    secret: &WebhookSecret,
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<String, BadSecret> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)?).map_err(|_| BadSecret)?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` value: the current secret's signature, then the previous one's
/// when it still signs.
pub fn signature_header(
    secrets: &SigningSecrets,
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<String, BadSecret> {
    let mut header = sign(&secrets.current, id, timestamp, body)?;
    if let Some(previous) = &secrets.previous {
        header.push(' ');
        header.push_str(&sign(previous, id, timestamp, body)?);
    }
    Ok(header)
}

/// The three headers of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
}

impl SignedHeaders {
    pub fn new(
        secrets: &SigningSecrets,
        id: String,
        timestamp: i64,
        body: &str,
    ) -> Result<Self, BadSecret> {
        let signature = signature_header(secrets, &id, timestamp, body)?;
        Ok(Self {
            id,
            timestamp,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_test_vector_signs_the_same() {
        // The signing test of the Standard Webhooks reference libraries.
        let secret = WebhookSecret::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
        let signature = sign(
            &secret,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            r#"{"email":"test@example.com","username":"test_user"}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn generated_secrets_are_whsec_and_32_random_bytes() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        assert!(a.expose_secret().starts_with("whsec_"));
        assert_eq!(key(&a).unwrap().len(), 32);
        assert!(!format!("{a:?}").contains(a.expose_secret()));
    }

    #[test]
    fn a_rotation_signs_with_both_secrets_newest_first() {
        let current = generate_secret();
        let previous = generate_secret();
        let secrets = SigningSecrets {
            current: current.clone(),
            previous: Some(previous.clone()),
        };
        let header = signature_header(&secrets, "id", 1, "{}").unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            parts,
            [
                sign(&current, "id", 1, "{}").unwrap(),
                sign(&previous, "id", 1, "{}").unwrap()
            ]
        );
    }

    #[test]
    fn a_secret_without_the_prefix_or_with_bad_base64_is_refused() {
        assert_eq!(
            sign(&WebhookSecret::new("abc"), "id", 1, "{}"),
            Err(BadSecret)
        );
        assert_eq!(
            sign(&WebhookSecret::new("whsec_***"), "id", 1, "{}"),
            Err(BadSecret)
        );
    }
}
