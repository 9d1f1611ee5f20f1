//! The HTML pages: login + consent, and the error page shown when redirecting is unsafe.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;

use super::authorize_request::AuthorizeRequest;

const TITLE: &str = "Tether Sandbox — not a real provider";
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}\
.banner{background:#fff3cd;border:1px solid #e0c36a;padding:.5rem 1rem;border-radius:.4rem}\
.error{color:#a00}label{display:block;margin:.4rem 0}button{margin-right:.5rem;padding:.4rem 1.2rem}";

/// The page a person (or a script, with one POST) completes to allow or deny access.
pub(crate) fn consent(request: &AuthorizeRequest, username: &str, error: Option<&str>) -> String {
    let mut hidden = vec![
        ("response_type", "code".to_owned()),
        ("client_id", request.client_id.clone()),
        ("redirect_uri", request.redirect_uri.clone()),
        ("code_challenge", request.code_challenge.clone()),
        ("code_challenge_method", "S256".to_owned()),
        ("requested_scope", request.scopes.to_string()),
    ];
    hidden.extend(request.state.clone().map(|s| ("state", s)));
    hidden.extend(request.nonce.clone().map(|n| ("nonce", n)));
    let hidden: String = hidden
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
                escape(value)
            )
        })
        .collect();
    let scopes: String = request
        .scopes
        .iter()
        .map(|s| {
            let s = escape(s);
            format!("<label><input type=\"checkbox\" name=\"scope\" value=\"{s}\" checked> {s}</label>\n")
        })
        .collect();
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\">{}</p>", escape(e))
    });
    let body = format!(
        "<p><strong>{client}</strong> asks for access to your sandbox account.</p>\n{error}\n\
         <form method=\"post\" action=\"authorize\">\n{hidden}\
         <label>Username <input name=\"username\" value=\"{username}\" required autofocus></label>\n\
         <fieldset><legend>Grant these scopes</legend>\n{scopes}</fieldset>\n\
         <p><button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button></p>\n\
         </form>\n<p>You will be sent back to <code>{redirect}</code>.</p>",
        client = escape(&request.client_id),
        username = escape(username),
        redirect = escape(&request.redirect_uri),
    );
    page(&body)
}

/// An error the user sees here because the request cannot safely go back to the client.
pub(crate) fn error(message: &str) -> String {
    page(&format!(
        "<h2>Authorization request refused</h2>\n<p class=\"error\">{}</p>\n\
         <p>The request was not sent back to the application.</p>",
        escape(message)
    ))
}

pub(crate) fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .body(body)
}

fn page(body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{TITLE}</title><style>{STYLE}</style></head>\n<body>\n<h1>{TITLE}</h1>\n\
         <p class=\"banner\">This is a test authorization server. Any username works; no password is checked.</p>\n\
         {body}\n</body></html>\n"
    )
}

/// Escapes text for HTML element content and double-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_attribute_breakouts() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
