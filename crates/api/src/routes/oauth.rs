//! The connect flow over HTTP: `POST /integrations/{provider}/authorize` (the frontend),
//! `GET /oauth/{provider}/start` (the browser: binding cookie, redirect to the provider) and
//! `GET /oauth/{provider}/callback` (the provider's redirect back).

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header::{CACHE_CONTROL, LOCATION, REFERRER_POLICY};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use tether_broker::{AuthorizationRequest, CallbackParams, CallbackResult, binding_cookie_name};
use tether_core::{Scope, ScopeSet};
use utoipa::IntoParams;

use super::{client_info, provider};
use crate::auth::Caller;
use crate::dto::{AuthorizeIn, AuthorizeOut};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::openapi::enums::{Provider, UserProvider};
use crate::pages;
use crate::state::ApiState;

/// Start connecting an account.
///
/// Creates a pending authorization for the calling user (or the user a service key acts
/// for) and answers with the URL to open in the user's browser.
#[utoipa::path(
    tag = "connect",
    params(("provider" = UserProvider, Path, description = "Provider name", example = "google")),
    request_body = AuthorizeIn,
    responses(
        (status = 200, description = "Open `start_url` in the browser", body = AuthorizeOut),
        (status = 400, description = "Bad input, `return_to` not allowed (`invalid_return_to`), a provider users do not connect (Orange), or a service key without `X-Tether-User` (`user_required`)", body = ErrorBody),
        (status = 403, description = "Admin keys cannot connect accounts", body = ErrorBody),
        (status = 404, description = "Unknown or unconfigured provider (or provider instance)", body = ErrorBody),
        (status = 503, description = "Shared state unavailable", body = ErrorBody),
    ),
    security(("user_jwt" = []), ("api_key" = []))
)]
#[post("/integrations/{provider}/authorize")]
pub async fn authorize(
    caller: Caller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    body: web::Json<AuthorizeIn>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let kind = provider(&path)?;
    let user_id = caller.user()?;
    let body = body.into_inner();
    let scopes = body
        .scopes
        .map(|list| {
            list.into_iter()
                .map(Scope::parse)
                .collect::<Result<ScopeSet, _>>()
                .map_err(|e| ApiError::bad_request("invalid_scope", e.to_string()))
        })
        .transpose()?;
    if body
        .login_hint
        .as_ref()
        .is_some_and(|h| h.chars().count() > 320)
    {
        return Err(ApiError::bad_request(
            "invalid_request",
            "login_hint is too long.",
        ));
    }
    let begun = state
        .broker()
        .begin_authorization(
            AuthorizationRequest {
                user_id,
                provider: kind,
                instance: body.instance.unwrap_or_default(),
                scopes,
                return_to: body.return_to,
                login_hint: body.login_hint,
            },
            &client_info(&req),
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(AuthorizeOut {
            start_url: begun.start_url.to_string(),
            expires_at: begun.expires_at,
            requested_scopes: begun
                .requested_scopes
                .iter()
                .map(ToString::to_string)
                .collect(),
        }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StartQuery {
    /// The flow id from the start URL.
    #[param(max_length = 4096)]
    flow: String,
}

/// Send the browser to the provider.
///
/// Opened by the user's browser: binds the flow to this browser with an HttpOnly cookie and
/// redirects to the provider's consent page.
#[utoipa::path(
    tag = "connect",
    params(("provider" = Provider, Path, description = "Provider name"), StartQuery),
    responses(
        (status = 302, description = "Redirect to the provider"),
        (status = 400, description = "Unknown, used or expired flow (`flow_unknown`)", body = ErrorBody),
        (status = 404, description = "Unknown or unconfigured provider", body = ErrorBody),
        (status = 503, description = "Shared state unavailable", body = ErrorBody),
    )
)]
#[get("/oauth/{provider}/start")]
pub async fn start(
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: web::Query<StartQuery>,
) -> ApiResult<HttpResponse> {
    let kind = provider(&path)?;
    let redirect = state.broker().start(kind, &query.flow).await?;
    let cookie = Cookie::build(
        redirect.cookie_name,
        redirect.cookie_value.expose_secret().to_owned(),
    )
    .path(redirect.cookie_path)
    .http_only(true)
    .secure(state.config.secure_cookies())
    .same_site(SameSite::Lax)
    .max_age(CookieDuration::seconds(
        i64::try_from(redirect.cookie_max_age.as_secs()).unwrap_or(600),
    ))
    .finish();
    Ok(HttpResponse::Found()
        .insert_header((LOCATION, redirect.authorize_url.to_string()))
        .insert_header((CACHE_CONTROL, "no-store"))
        .cookie(cookie)
        .finish())
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

/// The provider's redirect back.
///
/// Completes the connect flow and redirects the browser to `return_to` with `outcome`
/// (`connected`, `insufficient_scopes`, `denied`, `expired`, `error`), `message` and
/// `integration_id`; when the flow cannot be trusted, shows a small page instead.
#[utoipa::path(
    tag = "connect",
    params(("provider" = Provider, Path, description = "Provider name"), CallbackQuery),
    responses(
        (status = 302, description = "Back to return_to with the outcome"),
        (status = 400, description = "A page explaining what went wrong (the flow cannot be trusted, so there is nowhere to send the browser back to)", content_type = "text/html"),
        (status = 404, description = "Unknown or unconfigured provider", body = ErrorBody),
        (status = 503, description = "Shared state unavailable", body = ErrorBody),
    )
)]
#[get("/oauth/{provider}/callback")]
pub async fn callback(
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: web::Query<CallbackQuery>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let kind = provider(&path)?;
    let query = query.into_inner();
    let cookie = query
        .state
        .as_deref()
        .filter(|s| s.len() <= 4096)
        .and_then(|s| req.cookie(&binding_cookie_name(s)))
        .map(|c| c.value().to_owned());
    let params = CallbackParams {
        state: query.state,
        code: query.code,
        error: query.error,
        error_description: query.error_description,
        iss: query.iss,
    };
    let result = state
        .broker()
        .complete_callback(kind, params, cookie.as_deref(), &client_info(&req))
        .await?;
    Ok(callback_response(&result, &state))
}

fn callback_response(result: &CallbackResult, state: &ApiState) -> HttpResponse {
    let mut response = match &result.redirect_to {
        Some(url) => {
            let mut r = HttpResponse::Found();
            r.insert_header((LOCATION, url.to_string()));
            r
        }
        None => HttpResponse::BadRequest(),
    };
    response
        .insert_header((REFERRER_POLICY, "no-referrer"))
        .insert_header((CACHE_CONTROL, "no-store"));
    if let Some(name) = &result.cookie_name {
        let mut expired = Cookie::build(name.clone(), "")
            .path(format!("/api/v1/oauth/{}/callback", result.provider))
            .http_only(true)
            .secure(state.config.secure_cookies())
            .same_site(SameSite::Lax)
            .finish();
        expired.make_removal();
        response.cookie(expired);
    }
    match &result.redirect_to {
        Some(_) => response.finish(),
        None => response
            .content_type("text/html; charset=utf-8")
            .body(pages::outcome_page(
                result.outcome.as_str(),
                &result.message,
            )),
    }
}
