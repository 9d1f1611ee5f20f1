//! `/console/accounts` (admins): console accounts — create, list, disable or enable, reset a
//! password, set a staff account's grants. Every change is audited with the admin as actor;
//! disabling and a new password end the account's sessions.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;
use tether_core::audit::{Actor, AuditAction};
use tether_core::console::{
    ConsoleAccount, ConsoleGrant, ConsoleRole, NewConsoleAccount, Username,
};
use tether_core::{ConsoleAccountId, StorageError};

use super::{NoticeQuery, event, notice_text};
use crate::page::{self, Nav, csrf_field, page, respond, see_other};
use crate::password;
use crate::session::Signed;
use crate::{ConsoleError, ConsoleState};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateForm {
    csrf: String,
    username: String,
    role: String,
    password: String,
    grants: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PasswordForm {
    csrf: String,
    password: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GrantsForm {
    csrf: String,
    grants: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CsrfOnly {
    csrf: String,
}

fn grants_text(account: &ConsoleAccount) -> String {
    account
        .grants
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn list_page(
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

fn detail_page(
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

pub(crate) async fn list(
    signed: Signed,
    state: web::Data<ConsoleState>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ConsoleError> {
    signed.require_admin()?;
    let accounts = state.stores.accounts.list_accounts().await?;
    Ok(respond(
        StatusCode::OK,
        list_page(
            &signed,
            &accounts,
            notice_text(query.notice.as_deref()),
            None,
            &CreateForm::default(),
        ),
    ))
}

/// The account a path names, or 404.
async fn target(state: &ConsoleState, id: &str) -> Result<ConsoleAccount, ConsoleError> {
    let id: ConsoleAccountId = id.parse().map_err(|_| ConsoleError::NotFound)?;
    state
        .stores
        .accounts
        .account(id)
        .await?
        .ok_or(ConsoleError::NotFound)
}

pub(crate) async fn show(
    signed: Signed,
    state: web::Data<ConsoleState>,
    path: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ConsoleError> {
    signed.require_admin()?;
    let account = target(&state, &path).await?;
    Ok(respond(
        StatusCode::OK,
        detail_page(
            &signed,
            &account,
            notice_text(query.notice.as_deref()),
            None,
        ),
    ))
}

/// The checked fields of the create form, or what is wrong with them.
fn parse_new(form: &CreateForm) -> Result<(Username, ConsoleRole, Vec<ConsoleGrant>), String> {
    let username = Username::parse(&form.username).map_err(|e| format!("Username: {e}."))?;
    let role: ConsoleRole = form
        .role
        .parse()
        .map_err(|e| format!("Role: {e} (admin or staff)."))?;
    password::check_policy(&form.password)?;
    let grants = ConsoleGrant::parse_list(&form.grants).map_err(|e| format!("Grants: {e}."))?;
    Ok((username, role, grants))
}

/// The list page again, with what was wrong and the form as filled (without the password).
async fn refuse_create(
    state: &ConsoleState,
    signed: &Signed,
    form: &mut CreateForm,
    message: &str,
) -> Result<HttpResponse, ConsoleError> {
    form.password.clear();
    let accounts = state.stores.accounts.list_accounts().await?;
    Ok(respond(
        StatusCode::BAD_REQUEST,
        list_page(signed, &accounts, None, Some(message), form),
    ))
}

pub(crate) async fn create(
    req: HttpRequest,
    signed: Signed,
    state: web::Data<ConsoleState>,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    signed.require_admin()?;
    let mut form = form.into_inner();
    let (username, role, grants) = match parse_new(&form) {
        Ok(parsed) => parsed,
        Err(message) => return refuse_create(&state, &signed, &mut form, &message).await,
    };
    let hash = password::hash(std::mem::take(&mut form.password))
        .await
        .map_err(ConsoleError::Internal)?;
    let new = NewConsoleAccount {
        username: username.clone(),
        role,
        password_hash: hash,
        grants: grants.clone(),
    };
    let account = match state
        .stores
        .accounts
        .create_account(new, state.clock.now())
        .await
    {
        Ok(account) => account,
        Err(StorageError::Duplicate { .. }) => {
            let message = format!("The username {username} is taken.");
            return refuse_create(&state, &signed, &mut form, &message).await;
        }
        Err(e) => return Err(e.into()),
    };
    let mut created = event(
        &req,
        &state,
        Actor::Console(signed.account.id),
        AuditAction::ConsoleAccountCreated,
    );
    created.detail = Some(json!({
        "account_id": account.id.to_string(),
        "username": account.username.as_str(),
        "role": role.as_str(),
        "grants": grants.iter().map(ToString::to_string).collect::<Vec<_>>(),
    }));
    state.audit(created).await?;
    Ok(see_other("/console/accounts?notice=account-created"))
}

async fn audit_change(
    req: &HttpRequest,
    state: &ConsoleState,
    signed: &Signed,
    action: AuditAction,
    account: &ConsoleAccount,
    extra: Option<serde_json::Value>,
) -> Result<(), ConsoleError> {
    let mut changed = event(req, state, Actor::Console(signed.account.id), action);
    let mut detail = json!({
        "account_id": account.id.to_string(),
        "username": account.username.as_str(),
    });
    if let (Some(serde_json::Value::Object(more)), Some(map)) = (extra, detail.as_object_mut()) {
        map.extend(more);
    }
    changed.detail = Some(detail);
    state.audit(changed).await
}

pub(crate) async fn disable(
    req: HttpRequest,
    signed: Signed,
    state: web::Data<ConsoleState>,
    path: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    signed.require_admin()?;
    let account = target(&state, &path).await?;
    if account.id == signed.account.id {
        return Ok(respond(
            StatusCode::BAD_REQUEST,
            detail_page(
                &signed,
                &account,
                None,
                Some("You cannot disable your own account; another admin can."),
            ),
        ));
    }
    state
        .stores
        .accounts
        .set_disabled(account.id, true, state.clock.now())
        .await?;
    audit_change(
        &req,
        &state,
        &signed,
        AuditAction::ConsoleAccountDisabled,
        &account,
        None,
    )
    .await?;
    Ok(see_other(&format!(
        "/console/accounts/{}?notice=account-disabled",
        account.id
    )))
}

pub(crate) async fn enable(
    req: HttpRequest,
    signed: Signed,
    state: web::Data<ConsoleState>,
    path: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    signed.require_admin()?;
    let account = target(&state, &path).await?;
    state
        .stores
        .accounts
        .set_disabled(account.id, false, state.clock.now())
        .await?;
    audit_change(
        &req,
        &state,
        &signed,
        AuditAction::ConsoleAccountEnabled,
        &account,
        None,
    )
    .await?;
    Ok(see_other(&format!(
        "/console/accounts/{}?notice=account-enabled",
        account.id
    )))
}

pub(crate) async fn reset_password(
    req: HttpRequest,
    signed: Signed,
    state: web::Data<ConsoleState>,
    path: web::Path<String>,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    signed.require_admin()?;
    let account = target(&state, &path).await?;
    let mut form = form.into_inner();
    if let Err(message) = password::check_policy(&form.password) {
        return Ok(respond(
            StatusCode::BAD_REQUEST,
            detail_page(&signed, &account, None, Some(&message)),
        ));
    }
    let hash = password::hash(std::mem::take(&mut form.password))
        .await
        .map_err(ConsoleError::Internal)?;
    state
        .stores
        .accounts
        .set_password_hash(account.id, &hash, state.clock.now())
        .await?;
    audit_change(
        &req,
        &state,
        &signed,
        AuditAction::ConsolePasswordReset,
        &account,
        None,
    )
    .await?;
    if account.id == signed.account.id {
        // Every session ended, this one too.
        return Ok(see_other("/console/sign-in?notice=password-reset"));
    }
    Ok(see_other(&format!(
        "/console/accounts/{}?notice=password-reset",
        account.id
    )))
}

pub(crate) async fn set_grants(
    req: HttpRequest,
    signed: Signed,
    state: web::Data<ConsoleState>,
    path: web::Path<String>,
    form: web::Form<GrantsForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    signed.require_admin()?;
    let account = target(&state, &path).await?;
    let grants = match ConsoleGrant::parse_list(&form.grants) {
        Ok(grants) => grants,
        Err(e) => {
            return Ok(respond(
                StatusCode::BAD_REQUEST,
                detail_page(&signed, &account, None, Some(&format!("Grants: {e}."))),
            ));
        }
    };
    state
        .stores
        .accounts
        .set_grants(account.id, &grants, state.clock.now())
        .await?;
    let listed: Vec<String> = grants.iter().map(ToString::to_string).collect();
    audit_change(
        &req,
        &state,
        &signed,
        AuditAction::ConsoleGrantsChanged,
        &account,
        Some(json!({ "grants": listed })),
    )
    .await?;
    Ok(see_other(&format!(
        "/console/accounts/{}?notice=grants-saved",
        account.id
    )))
}
