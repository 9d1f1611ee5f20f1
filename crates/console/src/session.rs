//! Sessions and CSRF. A session is a random token in an HttpOnly, SameSite=Strict cookie
//! scoped to `/console`; the database keeps its SHA-256 only. Forms of a signed-in page carry
//! a CSRF token derived from the session token (so it needs no storage and dies with the
//! session); the sign-in form, before any session, uses a double-submit cookie.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tether_core::console::{ConsoleAccount, ConsoleGrant, ConsoleRole, ConsoleSession};

use crate::{ConsoleError, ConsoleState};

/// The session cookie.
pub const SESSION_COOKIE: &str = "tether_console";
/// The sign-in form's double-submit cookie.
pub const SIGN_IN_COOKIE: &str = "tether_console_signin";
/// The hidden form field every console form carries.
pub const CSRF_FIELD: &str = "csrf";

/// 256 random bits, URL-safe.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a session token.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn csrf_for(token: &str) -> String {
    hex::encode(Sha256::digest(
        format!("tether-console-csrf:{token}").as_bytes(),
    ))
}

/// Compares two secrets through their hashes, so the time taken says nothing about them.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty() && Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

pub(crate) fn cookie(
    name: &'static str,
    value: String,
    path: &'static str,
    max_age: chrono::Duration,
    secure: bool,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(CookieDuration::seconds(max_age.num_seconds().max(0)))
        .finish()
}

/// A cookie that tells the browser to forget `name`.
pub(crate) fn removal(name: &'static str, path: &'static str, secure: bool) -> Cookie<'static> {
    cookie(name, String::new(), path, chrono::Duration::zero(), secure)
}

/// A signed-in request: the session and its (enabled) account.
#[derive(Debug)]
pub struct Signed {
    pub session: ConsoleSession,
    pub account: ConsoleAccount,
    csrf: String,
}

impl Signed {
    /// The token the pages' forms carry.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Refuses a form whose token is not this session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), ConsoleError> {
        if same_secret(sent, &self.csrf) {
            Ok(())
        } else {
            Err(ConsoleError::BadCsrf)
        }
    }

    /// Refuses staff accounts not granted this provider instance (admins may use every one).
    pub fn require_grant(&self, grant: &ConsoleGrant) -> Result<(), ConsoleError> {
        if self.may_use(grant) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(format!(
                "Your account is not granted `{grant}`. Ask a console admin if you need it."
            )))
        }
    }

    pub fn may_use(&self, grant: &ConsoleGrant) -> bool {
        self.account.role == ConsoleRole::Admin || self.account.grants.contains(grant)
    }

    /// Refuses accounts that are not admins.
    pub fn require_admin(&self) -> Result<(), ConsoleError> {
        match self.account.role {
            ConsoleRole::Admin => Ok(()),
            ConsoleRole::Staff => Err(ConsoleError::Forbidden(
                "This page is for console admins. Your account is a staff account; ask an \
                 admin if you need it."
                    .to_owned(),
            )),
        }
    }
}

impl FromRequest for Signed {
    type Error = ConsoleError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let is_get = matches!(*req.method(), Method::GET | Method::HEAD);
        let state = req.app_data::<web::Data<ConsoleState>>().cloned();
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        Box::pin(async move {
            let signed_out = ConsoleError::SignedOut { is_get };
            let (Some(state), Some(token)) = (state, token) else {
                return Err(signed_out);
            };
            if token.is_empty() || token.len() > 128 {
                return Err(signed_out);
            }
            let found = state
                .stores
                .accounts
                .session_by_token_hash(&token_hash(&token), state.clock.now())
                .await?;
            match found {
                Some((session, account)) if !account.is_disabled() => Ok(Signed {
                    session,
                    account,
                    csrf: csrf_for(&token),
                }),
                _ => Err(signed_out),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_and_csrf_derive_from_them() {
        let a = random_token();
        let b = random_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), csrf_for(&a));
        assert!(same_secret(&csrf_for(&a), &csrf_for(&a)));
        assert!(!same_secret(&csrf_for(&a), &csrf_for(&b)));
        assert!(!same_secret("", ""), "an empty token never matches");
    }
}
