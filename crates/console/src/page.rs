//! The console's page frame (maud: every interpolated value is escaped), its navigation and
//! the small building blocks pages share: notices, errors, the hidden CSRF field.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use maud::{DOCTYPE, Markup, html};
use tether_core::console::ConsoleRole;

use crate::session::{CSRF_FIELD, Signed};

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Overview,
    Integrations,
    Providers,
    ApiKeys,
    Accounts,
    Audit,
    Webhooks,
}

fn frame(title: &str, nav: Option<(&Signed, Nav)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Tether console" }
                link rel="stylesheet" href="/console/style.css";
            }
            body {
                header {
                    a.brand href="/console" { "Tether console" }
                    @if let Some((signed, current)) = nav {
                        nav aria-label="Console" {
                            ul {
                                (item("/console", "Overview", current == Nav::Overview))
                                @if signed.account.role == ConsoleRole::Admin {
                                    (item("/console/integrations", "Integrations", current == Nav::Integrations))
                                }
                                (item("/console/providers", "Providers", current == Nav::Providers))
                                @if signed.account.role == ConsoleRole::Admin {
                                    (item("/console/api-keys", "API keys", current == Nav::ApiKeys))
                                    (item("/console/accounts", "Accounts", current == Nav::Accounts))
                                    (item("/console/audit", "Audit log", current == Nav::Audit))
                                    (item("/console/webhooks", "Webhooks", current == Nav::Webhooks))
                                }
                            }
                        }
                        form.signout method="post" action="/console/sign-out" {
                            (csrf_field(signed))
                            span { "Signed in as " strong { (signed.account.username) } " (" (signed.account.role) ")" }
                            " "
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

fn item(href: &str, label: &str, current: bool) -> Markup {
    html! {
        li {
            @if current {
                a href=(href) aria-current="page" { (label) }
            } @else {
                a href=(href) { (label) }
            }
        }
    }
}

/// A page of a signed-in account.
pub(crate) fn page(title: &str, signed: &Signed, nav: Nav, body: Markup) -> Markup {
    frame(title, Some((signed, nav)), body)
}

/// A page with no session (sign-in, errors).
pub(crate) fn bare(title: &str, body: Markup) -> Markup {
    frame(title, None, body)
}

/// An error or refusal as a whole page.
pub(crate) fn message(title: &str, text: &str) -> Markup {
    bare(
        title,
        html! {
            p.error role="alert" { (text) }
            p { a href="/console" { "Back to the console" } }
        },
    )
}

pub(crate) fn csrf_field(signed: &Signed) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(signed.csrf()); }
}

/// A success notice (`role=status`), or an error (`role=alert`).
pub(crate) fn notice(text: Option<&str>) -> Markup {
    html! { @if let Some(text) = text { p.notice role="status" { (text) } } }
}

pub(crate) fn error(text: Option<&str>) -> Markup {
    html! { @if let Some(text) = text { p.error role="alert" { (text) } } }
}

/// An HTML answer with this status.
pub(crate) fn respond(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// POST-redirect-GET: 303 to `location`.
pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_in_pages_is_escaped() {
        let page = message("<b>title</b>", "<script>alert(1)</script>").into_string();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("<b>title"));
        assert!(
            !page.contains("style="),
            "no inline style: the CSP allows none"
        );
    }
}
