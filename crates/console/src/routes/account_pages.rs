//! The markup of the console accounts pages: the list with its create form, and one
//! account's page with its grants, password and disable/enable forms.

use maud::{Markup, html};
use tether_core::console::{ConsoleAccount, ConsoleRole};

use super::accounts::CreateForm;
use crate::page::{self, Nav, csrf_field, page};
use crate::password;
use crate::session::Signed;

fn grants_text(account: &ConsoleAccount) -> String {
    account
        .grants
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn list_page(
    signed: &Signed,
    accounts: &[ConsoleAccount],
    notice: Option<&str>,
    error: Option<&str>,
    form: &CreateForm,
) -> Markup {
    page(
        "Console accounts",
        signed,
        Nav::Accounts,
        html! {
            (page::notice(notice))
            (page::error(error))
            div.table { table {
                thead { tr {
                    th scope="col" { "Username" } th scope="col" { "Role" }
                    th scope="col" { "Grants" } th scope="col" { "State" }
                } }
                tbody { @for a in accounts { tr {
                    td { a href={ "/console/accounts/" (a.id) } { (a.username) } }
                    td { (a.role) }
                    td { @if a.role == ConsoleRole::Admin { "all" } @else if a.grants.is_empty() { "none" } @else {
                        @for (i, g) in a.grants.iter().enumerate() { @if i > 0 { ", " } code { (g) } }
                    } }
                    td { @if a.is_disabled() { "disabled" } @else { "active" } }
                } } }
            } }
            h2 { "Create an account" }
            form.stack method="post" action="/console/accounts" {
                (csrf_field(signed))
                label for="new-username" { "Username" small { "a-z, digits, '.', '_', '-'; up to 64" } }
                input id="new-username" name="username" type="text" required maxlength="64"
                    autocomplete="off" value=(form.username);
                label for="new-role" { "Role" }
                select id="new-role" name="role" {
                    option value="staff" selected[form.role != "admin"] { "staff — only the provider instances granted" }
                    option value="admin" selected[form.role == "admin"] { "admin — everything" }
                }
                label for="new-password" { "Initial password" small { "at least " (password::MIN_LEN) " characters; tell it to the person over a safe channel" } }
                input id="new-password" name="password" type="password" required
                    minlength=(password::MIN_LEN) autocomplete="new-password";
                label for="new-grants" { "Grants (staff)" small { "one per line, e.g. openemr:clinic-a" } }
                textarea id="new-grants" name="grants" rows="3" { (form.grants) }
                button type="submit" { "Create account" }
            }
        },
    )
}

pub(super) fn detail_page(
    signed: &Signed,
    account: &ConsoleAccount,
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let base = format!("/console/accounts/{}", account.id);
    page(
        &format!("Account {}", account.username),
        signed,
        Nav::Accounts,
        html! {
            (page::notice(notice))
            (page::error(error))
            p { "Role: " strong { (account.role) } ". State: "
                strong { @if account.is_disabled() { "disabled" } @else { "active" } } "." }
            h2 { "Grants" }
            @if account.role == ConsoleRole::Admin {
                p { "Admins may use every provider instance; grants matter for staff accounts." }
            }
            form.stack method="post" action={ (base) "/grants" } {
                (csrf_field(signed))
                label for="grants" { "Provider instances" small { "one per line: openemr:clinic-a, or a provider name alone" } }
                textarea id="grants" name="grants" rows="4" { (grants_text(account)) }
                button type="submit" { "Save grants" }
            }
            h2 { "Reset the password" }
            form.stack method="post" action={ (base) "/password" } {
                (csrf_field(signed))
                label for="password" { "New password" small { "at least " (password::MIN_LEN) " characters; the account is signed out everywhere" } }
                input id="password" name="password" type="password" required
                    minlength=(password::MIN_LEN) autocomplete="new-password";
                button type="submit" { "Set password" }
            }
            h2 { @if account.is_disabled() { "Enable" } @else { "Disable" } }
            @if account.is_disabled() {
                form.stack method="post" action={ (base) "/enable" } {
                    (csrf_field(signed))
                    button type="submit" { "Enable " (account.username) }
                }
            } @else {
                form.stack method="post" action={ (base) "/disable" } {
                    (csrf_field(signed))
                    p { "A disabled account cannot sign in, and its sessions end now." }
                    button.danger type="submit" { "Disable " (account.username) }
                }
            }
            p { a href="/console/accounts" { "All accounts" } }
        },
    )
}
