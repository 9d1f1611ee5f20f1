//! Client authentication at the token and revocation endpoints: `client_secret_basic`,
//! `client_secret_post`, and `none` for public clients (RFC 6749 §2.3.1).

use actix_web::HttpRequest;
use actix_web::http::header;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::params::Params;
use crate::config::ClientConfig;
use crate::crypto::constant_time_eq;
use crate::oauth_error::OAuthError;
use crate::state::SandboxState;

/// Credentials as the client presented them.
enum Presented {
    /// Candidate `(id, secret)` pairs: form-decoded as RFC 6749 asks, then raw, because many
    /// clients base64 the raw pair.
    Basic(Vec<(String, String)>),
    Post {
        id: String,
        secret: Option<String>,
    },
    Nothing,
}

/// The registered client a request claims to come from, before checking its secret (used to
/// count calls that a switch then fails).
pub(crate) fn claimed_client_id(
    state: &SandboxState,
    req: &HttpRequest,
    params: &Params,
) -> Option<String> {
    match presented(req, params).ok()? {
        Presented::Basic(candidates) => candidates
            .into_iter()
            .map(|(id, _)| id)
            .find(|id| state.client(id).is_some()),
        Presented::Post { id, .. } => state.client(&id).map(|_| id),
        Presented::Nothing => None,
    }
}

/// Authenticates the client or answers 401 `invalid_client`.
pub(crate) fn authenticate<'s>(
    state: &'s SandboxState,
    req: &HttpRequest,
    params: &Params,
) -> Result<&'s ClientConfig, OAuthError> {
    match presented(req, params)? {
        Presented::Basic(candidates) => candidates
            .iter()
            .find_map(|(id, secret)| state.client(id).filter(|c| secret_matches(c, Some(secret))))
            .ok_or_else(|| OAuthError::invalid_client("client authentication failed", true)),
        Presented::Post { id, secret } => state
            .client(&id)
            .filter(|c| secret_matches(c, secret.as_deref()))
            .ok_or_else(|| OAuthError::invalid_client("client authentication failed", false)),
        Presented::Nothing => Err(OAuthError::invalid_client(
            "client authentication is required",
            true,
        )),
    }
}

fn secret_matches(client: &ClientConfig, given: Option<&str>) -> bool {
    match (&client.client_secret, given) {
        (Some(expected), Some(given)) => {
            constant_time_eq(expected.expose_secret().as_bytes(), given.as_bytes())
        }
        (Some(_), None) => false,
        (None, given) => given.is_none_or(str::is_empty),
    }
}

fn presented(req: &HttpRequest, params: &Params) -> Result<Presented, OAuthError> {
    let body_id = params.one("client_id")?;
    let body_secret = params.one("client_secret")?;
    if let Some(encoded) = basic_credentials(req)? {
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        let candidates = decode_basic(encoded)
            .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials", true))?;
        if body_id.is_some_and(|id| candidates.iter().all(|(c, _)| c != id)) {
            return Err(OAuthError::invalid_request(
                "client_id differs from the Authorization header",
            ));
        }
        return Ok(Presented::Basic(candidates));
    }
    match (body_id, body_secret) {
        (Some(id), secret) => Ok(Presented::Post {
            id: id.to_owned(),
            secret: secret.map(str::to_owned),
        }),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "client_secret was sent without client_id",
        )),
        (None, None) => Ok(Presented::Nothing),
    }
}

/// The base64 part of an `Authorization: Basic …` header, if there is one.
fn basic_credentials(req: &HttpRequest) -> Result<Option<&str>, OAuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_client("malformed Authorization header", true))?;
    Ok(value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, rest)| rest.trim()))
}

fn decode_basic(encoded: &str) -> Option<Vec<(String, String)>> {
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (raw_id, raw_secret) = decoded.split_once(':')?;
    let mut candidates = Vec::with_capacity(2);
    if let (Some(id), Some(secret)) = (form_decode(raw_id), form_decode(raw_secret)) {
        candidates.push((id, secret));
    }
    candidates.push((raw_id.to_owned(), raw_secret.to_owned()));
    Some(candidates)
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte.
fn form_decode(value: &str) -> Option<String> {
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = [bytes.next()?, bytes.next()?];
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded_with_a_raw_fallback() {
        let encoded = STANDARD.encode("my%3Aapp:p%40ss+word");
        let candidates = decode_basic(&encoded).unwrap();
        assert_eq!(candidates[0], ("my:app".to_owned(), "p@ss word".to_owned()));
        assert_eq!(
            candidates[1],
            ("my%3Aapp".to_owned(), "p%40ss+word".to_owned())
        );
    }

    #[test]
    fn broken_percent_escapes_do_not_decode() {
        assert_eq!(form_decode("abc%4"), None);
        assert_eq!(form_decode("abc%zz"), None);
        assert_eq!(form_decode("abc%+1"), None);
    }
}
