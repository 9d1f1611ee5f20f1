//! `/console/api-keys` (admins): list, create — the key is shown once, on the answer to the
//! form, and stored only as a hash — and revoke. The same use-cases as the admin API.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;
use tether_api::auth::create_key;
use tether_core::ApiKeyId;
use tether_core::api_key::{ApiKey, ApiKeyRole};
use tether_core::audit::{Actor, AuditAction};

use super::{CsrfForm, NoticeQuery, event, notice_text};
use crate::page::{self, Nav, csrf_field, page, respond, see_other};
use crate::session::Signed;
use crate::{ConsoleError, ConsoleState};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateForm {
    csrf: String,
    name: String,
    role: String,
}

fn keys_page(
    signed: &Signed,
    keys: &[ApiKey],
    notice: Option<&str>,
    error: Option<&str>,
    name: &str,
) -> Markup {
    page(
        "API keys",
        signed,
        Nav::ApiKeys,
        html! {
            (page::notice(notice))
            (page::error(error))
            p { "Service keys read tokens and call providers for any user; admin keys manage providers, keys and webhooks through the API. Each use is audited." }
            h2 { "Create a key" }
            form.stack method="post" action="/console/api-keys" {
                (csrf_field(signed))
                label for="key-name" { "Name" small { "What uses the key, e.g. calendar-sync (1–255 characters)" } }
                input id="key-name" name="name" type="text" required maxlength="255" value=(name);
                label for="key-role" { "Role" }
                select id="key-role" name="role" {
                    option value="service" { "service" }
                    option value="admin" { "admin" }
                }
                button type="submit" { "Create key" }
            }
            h2 { "Keys" }
            @if keys.is_empty() {
                p { "No API keys yet." }
            } @else {
                div.table { table {
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Prefix" }
                        th scope="col" { "Created" } th scope="col" { "Last used" } th scope="col" { "State" }
                    } }
                    tbody { @for key in keys { tr {
                        td { (key.name) br; small { (key.id) } }
                        td { (key.role) }
                        td { code { (key.prefix) "…" } }
                        td { (key.created_at.format("%Y-%m-%d %H:%M")) }
                        td { @match key.last_used_at { Some(at) => (at.format("%Y-%m-%d %H:%M")), None => "never" } }
                        td {
                            @match key.revoked_at {
                                Some(at) => { "revoked " (at.format("%Y-%m-%d %H:%M")) }
                                None => {
                                    form.inline method="post" action={ "/console/api-keys/" (key.id) "/revoke" } {
                                        (csrf_field(signed))
                                        button.danger type="submit" aria-label={ "Revoke " (key.name) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    } } }
                } }
            }
        },
    )
}

pub(crate) async fn list(
    signed: Signed,
    state: web::Data<ConsoleState>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ConsoleError> {
    signed.require_admin()?;
    let keys = state.stores.api_keys.list().await?;
    Ok(respond(
        StatusCode::OK,
        keys_page(
            &signed,
            &keys,
            notice_text(query.notice.as_deref()),
            None,
            "",
        ),
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
    let name = form.name.trim();
    let role = form.role.parse::<ApiKeyRole>();
    let problem = if name.is_empty() || name.chars().count() > 255 {
        Some("Give the key a name (1 to 255 characters).".to_owned())
    } else if let Err(e) = &role {
        Some(format!("Choose a role: {e}."))
    } else {
        None
    };
    let (Ok(role), None) = (role, problem.as_deref()) else {
        let keys = state.stores.api_keys.list().await?;
        return Ok(respond(
            StatusCode::BAD_REQUEST,
            keys_page(&signed, &keys, None, problem.as_deref(), name),
        ));
    };
    let (record, secret) = create_key(state.stores.api_keys.as_ref(), name, role).await?;
    let mut created = event(
        &req,
        &state,
        Actor::Console(signed.account.id),
        AuditAction::ApiKeyCreated,
    );
    created.detail = Some(json!({ "key_id": record.id.to_string(), "role": role.as_str() }));
    // Audited before the key is shown: an unaudited key is never handed out.
    state.audit(created).await?;
    // Shown on this answer and nowhere else (no redirect: the key is not kept to show later).
    Ok(respond(
        StatusCode::OK,
        page(
            "API key created",
            &signed,
            Nav::ApiKeys,
            html! {
                p.notice role="status" { "Created " (record.role) " key " strong { (record.name) } "." }
                p { strong { "Copy the key now: it is shown only this once." } " Tether keeps only a hash of it." }
                p.secret id="new-key" { (secret.expose_secret()) }
                p { a href="/console/api-keys" { "Back to API keys" } }
            },
        ),
    ))
}

pub(crate) async fn revoke(
    req: HttpRequest,
    signed: Signed,
    state: web::Data<ConsoleState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    signed.require_admin()?;
    let id: ApiKeyId = path.parse().map_err(|_| ConsoleError::NotFound)?;
    let now = state.clock.now();
    if !state.stores.api_keys.revoke(id, now).await? {
        return Err(ConsoleError::NotFound);
    }
    (state.on_key_revoked)();
    let mut revoked = event(
        &req,
        &state,
        Actor::Console(signed.account.id),
        AuditAction::ApiKeyRevoked,
    );
    revoked.detail = Some(json!({ "key_id": id.to_string() }));
    state.audit(revoked).await?;
    Ok(see_other("/console/api-keys?notice=key-revoked"))
}
