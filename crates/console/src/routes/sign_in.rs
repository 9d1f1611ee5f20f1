//! Signing in and out: the sign-in form (double-submit CSRF cookie, rate-limited, every
//! attempt audited), sign-out, and "sign out everywhere".

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use serde::Deserialize;
use serde_json::json;
use tether_core::audit::{Actor, AuditAction};
use tether_core::console::Username;

use super::{CsrfForm, NoticeQuery, event, notice_text};
use crate::page::{self, bare, see_other};
use crate::password;
use crate::session::{
    CSRF_FIELD, SESSION_COOKIE, SIGN_IN_COOKIE, Signed, cookie, random_token, removal, same_secret,
    token_hash,
};
use crate::{ConsoleError, ConsoleState};

const SIGN_IN_PATH: &str = "/console/sign-in";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SignInForm {
    username: String,
    password: String,
    csrf: String,
}

fn sign_in_page(csrf: &str, username: &str, notice: Option<&str>, error: Option<&str>) -> String {
    bare(
        "Sign in",
        html! {
            (page::notice(notice))
            (page::error(error))
            form.stack method="post" action=(SIGN_IN_PATH) {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                label for="username" { "Username" }
                input id="username" name="username" type="text" autocomplete="username"
                    required autofocus value=(username);
                label for="password" { "Password" }
                input id="password" name="password" type="password"
                    autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
            p { small { "Accounts are created by an admin, or with " code { "tether console-users create" } "." } }
        },
    )
    .into_string()
}

/// The form, with a fresh double-submit token in a cookie only this path receives.
fn form_response(
    state: &ConsoleState,
    status: StatusCode,
    csrf: String,
    username: &str,
    notice: Option<&str>,
    error: Option<&str>,
) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .cookie(cookie(
            SIGN_IN_COOKIE,
            csrf.clone(),
            SIGN_IN_PATH,
            chrono::Duration::hours(1),
            state.settings.secure_cookies,
        ))
        .body(sign_in_page(&csrf, username, notice, error))
}

pub(crate) async fn form(
    signed: Option<Signed>,
    state: web::Data<ConsoleState>,
    query: web::Query<NoticeQuery>,
) -> HttpResponse {
    if signed.is_some() {
        return see_other("/console");
    }
    form_response(
        &state,
        StatusCode::OK,
        random_token(),
        "",
        notice_text(query.notice.as_deref()),
        None,
    )
}

pub(crate) async fn submit(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, ConsoleError> {
    let form = form.into_inner();
    let expected = req.cookie(SIGN_IN_COOKIE).map(|c| c.value().to_owned());
    if !expected.is_some_and(|c| same_secret(&form.csrf, &c)) {
        return Err(ConsoleError::BadCsrf);
    }
    let ip = super::client_ip(&req, &state);
    state
        .limiters
        .check(ip, &form.username)
        .map_err(ConsoleError::RateLimited)?;

    let account = match Username::parse(&form.username) {
        Ok(name) => state.stores.accounts.account_by_username(&name).await?,
        Err(_) => None,
    };
    let shown_name: String = form.username.chars().take(Username::MAX_LEN).collect();
    let ok = password::verify(
        form.password,
        account.as_ref().map(|a| a.password_hash.clone()),
    )
    .await;
    let refuse = |status, message: &str| {
        Ok(form_response(
            &state,
            status,
            form.csrf.clone(),
            &shown_name,
            None,
            Some(message),
        ))
    };
    let Some(account) = account else {
        // No username in the record: people type passwords into the wrong field.
        let mut failed = event(&req, &state, Actor::System, AuditAction::ConsoleSignIn)
            .failed("unknown console account");
        failed.detail = Some(json!({ "reason": "unknown_account" }));
        state.audit(failed).await?;
        return refuse(StatusCode::UNAUTHORIZED, "Wrong username or password.");
    };
    let actor = Actor::Console(account.id);
    if !ok {
        let mut failed =
            event(&req, &state, actor, AuditAction::ConsoleSignIn).failed("wrong password");
        failed.detail =
            Some(json!({ "reason": "wrong_password", "username": account.username.as_str() }));
        state.audit(failed).await?;
        return refuse(StatusCode::UNAUTHORIZED, "Wrong username or password.");
    }
    if account.is_disabled() {
        let mut failed =
            event(&req, &state, actor, AuditAction::ConsoleSignIn).failed("account disabled");
        failed.detail =
            Some(json!({ "reason": "account_disabled", "username": account.username.as_str() }));
        state.audit(failed).await?;
        return refuse(
            StatusCode::FORBIDDEN,
            "This account is disabled. Ask a console admin to enable it.",
        );
    }

    let token = random_token();
    let now = state.clock.now();
    let session = state
        .stores
        .accounts
        .create_session(
            account.id,
            &token_hash(&token),
            now,
            now + state.settings.session_ttl,
        )
        .await?;
    let mut signed_in = event(&req, &state, actor, AuditAction::ConsoleSignIn);
    signed_in.detail = Some(json!({
        "username": account.username.as_str(),
        "session_id": session.id.to_string(),
    }));
    state.audit(signed_in).await?;
    tracing::info!(account = %account.username, "console sign-in");
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/console"))
        .cookie(cookie(
            SESSION_COOKIE,
            token,
            "/console",
            state.settings.session_ttl,
            state.settings.secure_cookies,
        ))
        .cookie(removal(
            SIGN_IN_COOKIE,
            SIGN_IN_PATH,
            state.settings.secure_cookies,
        ))
        .finish())
}

fn signed_out(state: &ConsoleState, notice: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("{SIGN_IN_PATH}?notice={notice}"),
        ))
        .cookie(removal(
            SESSION_COOKIE,
            "/console",
            state.settings.secure_cookies,
        ))
        .finish()
}

pub(crate) async fn sign_out(
    req: HttpRequest,
    signed: Signed,
    state: web::Data<ConsoleState>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    state
        .stores
        .accounts
        .delete_session(signed.session.id)
        .await?;
    let mut out = event(
        &req,
        &state,
        Actor::Console(signed.account.id),
        AuditAction::ConsoleSignOut,
    );
    out.detail = Some(json!({ "session_id": signed.session.id.to_string() }));
    state.audit(out).await?;
    Ok(signed_out(&state, "signed-out"))
}

pub(crate) async fn sign_out_everywhere(
    req: HttpRequest,
    signed: Signed,
    state: web::Data<ConsoleState>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    let ended = state
        .stores
        .accounts
        .delete_sessions(signed.account.id)
        .await?;
    let mut out = event(
        &req,
        &state,
        Actor::Console(signed.account.id),
        AuditAction::ConsoleSessionsEnded,
    );
    out.detail =
        Some(json!({ "sessions_ended": ended, "account_id": signed.account.id.to_string() }));
    state.audit(out).await?;
    Ok(signed_out(&state, "signed-out-everywhere"))
}
