//! `/console/webhooks` (admins): webhook endpoints through the same use-cases as the admin
//! API (`tether_webhooks::Webhooks`, reached through the API's state): list, add (the signing
//! secret is shown once, on the answer), disable and enable, rotate the secret (shown once),
//! send a test event, recent deliveries and redelivery. The service audits every change with
//! the console account as actor.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use tether_api::ApiState;
use tether_core::WebhookEndpointId;
use tether_core::audit::Actor;
use tether_core::events::EventId;
use tether_webhooks::{EndpointChange, NewEndpoint, WebhookError};

use super::webhook_pages::{Typed, detail_page, list_page, secret_page, test_page};
use super::{CsrfForm, NoticeQuery, notice_text};
use crate::ConsoleError;
use crate::page::{respond, see_other};
use crate::session::Signed;

/// Deliveries shown on an endpoint's page.
const DELIVERY_PAGE: u64 = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DetailQuery {
    notice: Option<String>,
    before: Option<String>,
}

fn refused(e: WebhookError) -> ConsoleError {
    match e {
        WebhookError::EndpointNotFound | WebhookError::EventNotFound => ConsoleError::NotFound,
        WebhookError::InvalidInput(why) => ConsoleError::BadForm(why),
        WebhookError::EventFilteredOut => ConsoleError::BadForm(e.to_string()),
        WebhookError::Storage(e) => e.into(),
    }
}

fn endpoint_id(text: &str) -> Result<WebhookEndpointId, ConsoleError> {
    text.parse().map_err(|_| ConsoleError::NotFound)
}

fn actor(signed: &Signed) -> Actor {
    Actor::Console(signed.account.id)
}

pub(crate) async fn list(
    signed: Signed,
    api: web::Data<ApiState>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ConsoleError> {
    signed.require_admin()?;
    let endpoints = api.webhooks.list().await.map_err(refused)?;
    Ok(respond(
        StatusCode::OK,
        list_page(
            &signed,
            &endpoints,
            notice_text(query.notice.as_deref()),
            None,
            &Typed::default(),
        ),
    ))
}

/// The create form: its event types are a repeated field, so it is read as pairs.
pub(crate) async fn create(
    signed: Signed,
    api: web::Data<ApiState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    signed.check_csrf(&field("csrf"))?;
    signed.require_admin()?;
    let typed = Typed {
        url: field("url"),
        description: field("description"),
        event_types: form
            .iter()
            .filter(|(k, _)| k == "event_types")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let created = api
        .webhooks
        .create(
            &actor(&signed),
            NewEndpoint {
                url: typed.url.clone(),
                description: typed.description.clone(),
                event_types: typed.event_types.clone(),
                enabled: true,
            },
        )
        .await;
    match created {
        // Shown on this answer only: no redirect, the secret is not kept to show later.
        Ok((endpoint, secret)) => Ok(respond(
            StatusCode::OK,
            secret_page(
                &signed,
                "Webhook endpoint added",
                "Added",
                &endpoint,
                &secret,
            ),
        )),
        Err(WebhookError::InvalidInput(why)) => {
            let endpoints = api.webhooks.list().await.map_err(refused)?;
            Ok(respond(
                StatusCode::BAD_REQUEST,
                list_page(&signed, &endpoints, None, Some(&why), &typed),
            ))
        }
        Err(e) => Err(refused(e)),
    }
}

pub(crate) async fn show(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, ConsoleError> {
    signed.require_admin()?;
    let id = endpoint_id(&path)?;
    let before = match query.before.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(b)) if b >= 1 => Some(b),
        Some(_) => {
            return Err(ConsoleError::BadForm(
                "The paging cursor must be a positive number.".to_owned(),
            ));
        }
    };
    let endpoint = api.webhooks.get(id).await.map_err(refused)?;
    let deliveries = api
        .webhooks
        .delivery_page(id, DELIVERY_PAGE, before)
        .await
        .map_err(refused)?;
    Ok(respond(
        StatusCode::OK,
        detail_page(
            &signed,
            &endpoint,
            &deliveries,
            notice_text(query.notice.as_deref()),
        ),
    ))
}

async fn set_enabled(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
    enabled: bool,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    signed.require_admin()?;
    let id = endpoint_id(&path)?;
    api.webhooks
        .update(
            &actor(&signed),
            id,
            EndpointChange {
                enabled: Some(enabled),
                ..EndpointChange::default()
            },
        )
        .await
        .map_err(refused)?;
    let notice = if enabled {
        "webhook-enabled"
    } else {
        "webhook-disabled"
    };
    Ok(see_other(&format!(
        "/console/webhooks/{id}?notice={notice}"
    )))
}

pub(crate) async fn disable(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    set_enabled(signed, api, path, form, false).await
}

pub(crate) async fn enable(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    set_enabled(signed, api, path, form, true).await
}

pub(crate) async fn rotate_secret(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    signed.require_admin()?;
    let (endpoint, secret) = api
        .webhooks
        .rotate_secret(&actor(&signed), endpoint_id(&path)?)
        .await
        .map_err(refused)?;
    Ok(respond(
        StatusCode::OK,
        secret_page(
            &signed,
            "Signing secret rotated",
            "New signing secret for",
            &endpoint,
            &secret,
        ),
    ))
}

pub(crate) async fn test(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    signed.require_admin()?;
    let id = endpoint_id(&path)?;
    let endpoint = api.webhooks.get(id).await.map_err(refused)?;
    let sent = api
        .webhooks
        .send_test(&actor(&signed), id)
        .await
        .map_err(refused)?;
    Ok(respond(
        StatusCode::OK,
        test_page(&signed, &endpoint, &sent),
    ))
}

pub(crate) async fn redeliver(
    signed: Signed,
    api: web::Data<ApiState>,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    signed.require_admin()?;
    let (id, event) = path.into_inner();
    let id = endpoint_id(&id)?;
    let event: EventId = event.parse().map_err(|_| ConsoleError::NotFound)?;
    api.webhooks
        .redeliver(&actor(&signed), id, event)
        .await
        .map_err(refused)?;
    Ok(see_other(&format!(
        "/console/webhooks/{id}?notice=redelivery-queued"
    )))
}
