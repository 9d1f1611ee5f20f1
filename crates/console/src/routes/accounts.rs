//! `/console/accounts` (admins): console accounts — create, list, disable or enable, reset a
//! password, set a staff account's grants. Every change is audited with the admin as actor;
//! disabling and a new password end the account's sessions.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use tether_core::audit::{Actor, AuditAction};
use tether_core::console::{
    ConsoleAccount, ConsoleGrant, ConsoleRole, NewConsoleAccount, Username,
};
use tether_core::{ConsoleAccountId, StorageError};

use super::account_pages::{detail_page, list_page};
use super::{NoticeQuery, event, notice_text};
use crate::page::{respond, see_other};
use crate::password;
use crate::session::Signed;
use crate::{ConsoleError, ConsoleState};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateForm {
    csrf: String,
    pub(super) username: String,
    pub(super) role: String,
    password: String,
    pub(super) grants: String,
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
    switch(&req, &state, &signed, &account, true).await
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
    switch(&req, &state, &signed, &account, false).await
}

/// Disables or enables `account`, audits the change and goes back to its page.
async fn switch(
    req: &HttpRequest,
    state: &ConsoleState,
    signed: &Signed,
    account: &ConsoleAccount,
    disabled: bool,
) -> Result<HttpResponse, ConsoleError> {
    state
        .stores
        .accounts
        .set_disabled(account.id, disabled, state.clock.now())
        .await?;
    let (action, notice) = if disabled {
        (AuditAction::ConsoleAccountDisabled, "account-disabled")
    } else {
        (AuditAction::ConsoleAccountEnabled, "account-enabled")
    };
    audit_change(req, state, signed, action, account, None).await?;
    Ok(see_other(&format!(
        "/console/accounts/{}?notice={notice}",
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
