//! Orange SMS for backend services: `POST /sms` sends one, `GET /sms/balance` lists the
//! contracts and what is left. The routes talk to the core SMS port ([`SmsSender`]), which
//! the server wires to the Orange provider; app tokens come from the broker's shared cache
//! and are renewed once when Orange reports them expired.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tether_broker::Broker;
use tether_core::ProviderKind;
use tether_core::audit::{AuditAction, AuditEvent};
use tether_core::provider::ProviderError;
use tether_core::sms::{SmsRequest, SmsSender};
use utoipa::ToSchema;

use crate::auth::ServiceCaller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::openapi::enums::SmsEncoding;
use crate::state::ApiState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsIn {
    /// The recipient in E.164 form: `+` then the country code and number.
    #[schema(example = "+33612345678", pattern = r"^(tel:)?\+[1-9][0-9]{6,14}$")]
    pub to: String,
    /// The text (not only spaces); long texts are sent as several parts.
    #[schema(
        example = "Your appointment is tomorrow at 10:00.",
        min_length = 1,
        pattern = r"\S"
    )]
    pub message: String,
    /// The sender number (E.164); the configured default when absent.
    #[schema(pattern = r"^(tel:)?\+[1-9][0-9]{6,14}$")]
    pub sender: Option<String>,
    /// An approved sender name to show instead of the number.
    pub sender_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SmsOut {
    pub message_id: Option<String>,
    #[schema(value_type = SmsEncoding)]
    pub encoding: String,
    /// How many SMS the message was split into (billed per part).
    pub segments: u32,
    pub multipart: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContractOut {
    pub contract_id: Option<String>,
    /// ISO 3166 alpha-3 country code (`CIV`, `SEN`, …).
    pub country: Option<String>,
    /// The offer or service (`SMS_OCB`, …).
    pub service: Option<String>,
    /// SMS units left.
    pub available_units: Option<u64>,
    /// When the bundle expires, as Orange wrote it.
    pub expires: Option<String>,
}

fn orange(broker: &Broker) -> ApiResult<std::sync::Arc<dyn SmsSender>> {
    if let Some(orange) = broker.providers().sms() {
        return Ok(orange);
    }
    match broker.providers().get(ProviderKind::Orange, "") {
        Ok(p) if p.is_sandbox() => Err(ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "sandbox",
            "Orange is served by the sandbox here, which sends no SMS; configure real Orange credentials.",
        )),
        _ => Err(ApiError::not_found(
            "provider_not_configured",
            "Orange SMS is not configured on this Tether.",
        )),
    }
}

fn provider_error(e: ProviderError) -> ApiError {
    match e {
        ProviderError::InvalidRequest { message } => ApiError::bad_request("invalid_sms", message),
        other => tether_broker::BrokerError::Provider(other).into(),
    }
}

/// Send an SMS.
///
/// Service keys only. Long messages are sent as several parts (and billed so).
#[utoipa::path(
    operation_id = "send_sms",
    tag = "sms",
    request_body = SmsIn,
    responses(
        (status = 201, description = "Accepted by Orange", body = SmsOut),
        (status = 400, description = "Bad number, empty message, or no sender (`invalid_sms`)", body = ErrorBody),
        (status = 403, description = "Not a service key", body = ErrorBody),
        (status = 404, description = "Orange is not configured", body = ErrorBody),
        (status = 502, description = "Orange refused (e.g. insufficient SMS balance, sender name not approved)", body = ErrorBody),
        (status = 503, description = "Orange is served by the sandbox here, which sends no SMS (`sandbox`), or is unavailable; see Retry-After", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/sms")]
pub async fn send(
    ServiceCaller(caller): ServiceCaller,
    state: web::Data<ApiState>,
    body: web::Json<SmsIn>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let request = SmsRequest {
        to: body.to,
        message: body.message,
        sender: body.sender,
        sender_name: body.sender_name,
    };
    // Bad input is refused whatever serves Orange, the sandbox included.
    request
        .check()
        .map_err(|message| ApiError::bad_request("invalid_sms", message))?;
    let broker = state.broker();
    let orange = orange(&broker)?;
    let tokens = broker.app_token_source(orange.provider(), "");
    let result = orange.send_sms(&tokens, &request).await;
    let mut event = AuditEvent::new(caller.actor(), AuditAction::SmsSent);
    event.provider = Some(orange.provider());
    match &result {
        Ok(sent) => event.detail = Some(json!({ "segments": sent.segments })),
        Err(e) => event = event.failed(e.to_string()),
    }
    broker.record_audit(event).await;
    let sent = result.map_err(provider_error)?;
    Ok(HttpResponse::Created().json(SmsOut {
        multipart: sent.is_multipart(),
        message_id: sent.message_id,
        encoding: match sent.encoding {
            tether_core::sms::SmsEncoding::Gsm7 => "gsm7",
            tether_core::sms::SmsEncoding::Ucs2 => "ucs2",
        }
        .to_owned(),
        segments: sent.segments,
    }))
}

/// SMS balance.
///
/// Service keys only: the Orange SMS contracts and what is left on them.
#[utoipa::path(
    operation_id = "sms_balance",
    tag = "sms",
    responses(
        (status = 200, description = "The contracts", body = Vec<ContractOut>),
        (status = 403, description = "Not a service key", body = ErrorBody),
        (status = 404, description = "Orange is not configured", body = ErrorBody),
        (status = 502, description = "Orange refused", body = ErrorBody),
        (status = 503, description = "Orange is served by the sandbox here (`sandbox`), or is unavailable; see Retry-After", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/sms/balance")]
pub async fn balance(
    _caller: ServiceCaller,
    state: web::Data<ApiState>,
) -> ApiResult<HttpResponse> {
    let broker = state.broker();
    let orange = orange(&broker)?;
    let tokens = broker.app_token_source(orange.provider(), "");
    let contracts = orange.balance(&tokens).await.map_err(provider_error)?;
    let out: Vec<ContractOut> = contracts
        .into_iter()
        .map(|c| ContractOut {
            contract_id: c.contract_id,
            country: c.country,
            service: c.service,
            available_units: c.available_units,
            expires: c.expires,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}
