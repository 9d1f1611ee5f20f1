//! `tether dev-token --user ID`: a user JWT signed with the embedded mode's development
//! secret, for trying the API by hand. Refused wherever real JWT settings are configured.

use std::path::Path;

use jsonwebtoken::{EncodingKey, Header, encode};
use serde::Serialize;

use super::{load, print};
use crate::config::JwtSource;
use crate::error::{ServerError, ServerResult};
use crate::wiring::dev_jwt_secret;

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

pub fn run(file: Option<&Path>, user: &str, minutes: u64) -> ServerResult<()> {
    let config = load(file, false)?;
    let JwtSource::DevFile(path) = &config.api.jwt else {
        return Err(ServerError::Usage(
            "dev-token works only in the embedded development mode (SQLite, no TETHER_JWT_SECRET or TETHER_JWT_JWKS_URL): \
             with real settings, get tokens from your auth system"
                .into(),
        ));
    };
    tether_core::UserId::parse(user).map_err(|e| ServerError::Usage(format!("--user: {e}")))?;
    let secret = dev_jwt_secret(path)?;
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: user,
        iss: &config.api.jwt_issuer,
        aud: &config.api.jwt_audience,
        iat: now,
        exp: now + i64::try_from(minutes * 60).unwrap_or(3600),
    };
    let token = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| ServerError::Startup(format!("signing the token: {e}")))?;
    print([token])
}
