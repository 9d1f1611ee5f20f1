//! Form and query parameters (RFC 6749 §3.1): repeated names are errors, empty values absent.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::oauth_error::OAuthError;

/// Decoded `application/x-www-form-urlencoded` pairs, in order.
#[derive(Debug)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// A request body that must be form-encoded (token and revocation endpoints).
    pub(crate) fn from_form(req: &HttpRequest, body: &[u8]) -> Result<Self, OAuthError> {
        if let Some(value) = req.headers().get(header::CONTENT_TYPE) {
            let is_form = value.to_str().is_ok_and(|v| {
                v.split(';').next().is_some_and(|m| {
                    m.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
            if !is_form {
                return Err(OAuthError::invalid_request(
                    "the body must be application/x-www-form-urlencoded",
                ));
            }
        }
        Ok(Self::parse(body))
    }

    /// The single value of `name`; empty counts as absent, a repeated name is an error.
    pub(crate) fn one(&self, name: &'static str) -> Result<Option<&str>, OAuthError> {
        let mut values = self.0.iter().filter(|(k, v)| k == name && !v.is_empty());
        let first = values.next().map(|(_, v)| v.as_str());
        if values.next().is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {name} is repeated"
            )));
        }
        Ok(first)
    }

    pub(crate) fn required(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.one(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter {name} is required")))
    }

    /// Every value of a parameter that may repeat (granted `scope` entries on the consent form).
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_rejected_and_empty_ones_ignored() {
        let params = Params::parse(b"a=1&a=2&b=&c=x%20y");
        assert!(params.one("a").is_err());
        assert_eq!(params.one("b").unwrap(), None);
        assert_eq!(params.one("c").unwrap(), Some("x y"));
        assert_eq!(params.all("a").collect::<Vec<_>>(), ["1", "2"]);
    }
}
