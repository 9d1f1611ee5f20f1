//! For tests of code that verifies tokens: a committed P-256 key (generated for Tether's
//! tests; it protects nothing), its key set, and tokens signed with it.
#![allow(
    clippy::expect_used,
    reason = "test helpers: the committed key always parses and signing it cannot fail"
)]

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSHT2kWM/FBxdExjw
rrDmbKZKmEwEA1xznpUz4NpC0dWhRANCAATV2TWyZokPvBnCMQyKYX6npCql+RHf
J+l+Aop9arw2/qNj7nv8hgd2R00MO8arLGWALonrXKa+zwPUlKn5SX+A
-----END PRIVATE KEY-----";
const X: &str = "1dk1smaJD7wZwjEMimF-p6QqpfkR3yfpfgKKfWq8Nv4";
const Y: &str = "o2Pue_yGB3ZHTQw7xqssZYAuietcpr7PA9SUqflJf4A";

/// The `kid` of the test key in [`jwks`].
pub const KID: &str = "tether-test-key";

/// A key set publishing the test key under `kid`.
pub fn jwks(kid: &str) -> Value {
    json!({ "keys": [{ "kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": kid, "alg": "ES256", "use": "sig" }] })
}

/// The test key published as OpenEMR publishes its key: no `kid`, no `alg`.
pub fn jwks_unnamed() -> Value {
    json!({ "keys": [{ "kty": "EC", "crv": "P-256", "x": X, "y": Y, "use": "sig" }] })
}

/// The public half of another P-256 key (not the test key): a key set holding only it
/// verifies none of the tokens signed here.
pub fn jwks_of_another_key(kid: Option<&str>) -> Value {
    let mut key = json!({
        "kty": "EC", "crv": "P-256", "use": "sig",
        "x": "YR1-J8IvRiUJ9vQ8yZPapRUVL7tZmpYzvUNA6HabSdA",
        "y": "IAN1VttQXBMMA7PPAerKkvqTxtt8YT6dm16PYqLF9NM"
    });
    if let Some(kid) = kid {
        key["kid"] = json!(kid);
    }
    json!({ "keys": [key] })
}

/// `claims` signed ES256 with the test key, naming `kid`.
pub fn sign(kid: &str, claims: &Value) -> String {
    sign_as(Some(kid), claims)
}

/// `claims` signed ES256 with the test key, naming no key (as OpenEMR signs).
pub fn sign_unnamed(claims: &Value) -> String {
    sign_as(None, claims)
}

fn sign_as(kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_owned);
    let key = EncodingKey::from_ec_pem(PRIVATE_KEY.as_bytes()).expect("the test key parses");
    encode(&header, claims, &key).expect("signing with the test key")
}

/// `claims` "signed" HS256 with the public key's `x` as secret (algorithm confusion).
pub fn sign_hs256(kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, &EncodingKey::from_secret(X.as_bytes())).expect("HS256 signing")
}
