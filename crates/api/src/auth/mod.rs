//! Who is calling: a user (a JWT from the product's auth system) or a service/admin API key
//! (`tk_…`). The `Caller` extractor authenticates every protected request; handlers then ask
//! for the role they need. A service key may act for a named user (`X-Tether-User`).

mod api_keys;
mod jwt;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use futures::future::LocalBoxFuture;
use tether_core::api_key::{ApiKey, ApiKeyRole};
use tether_core::audit::Actor;
use tether_core::{Integration, UserId};

pub use api_keys::{ApiKeys, KEY_PREFIX, create_key, hash_key};
pub use jwt::{JwtConfig, JwtKeys, JwtVerifier};

use crate::error::{ApiError, ApiResult};
use crate::state::ApiState;

/// The header a service key names the user it acts for with.
pub const ACT_FOR_HEADER: &str = "X-Tether-User";

#[derive(Debug, Clone)]
pub enum Caller {
    User(UserId),
    Key {
        key: ApiKey,
        /// The user a service key acts for, from `X-Tether-User`.
        acting_for: Option<UserId>,
    },
}

impl Caller {
    /// Who the audit trail names.
    pub fn actor(&self) -> Actor {
        match self {
            Caller::User(user) => Actor::User(user.clone()),
            Caller::Key { key, .. } => Actor::ApiKey(key.id),
        }
    }

    /// Who this is, for per-caller rate limits: the user, or the API key.
    fn identity(&self) -> String {
        match self {
            Caller::User(user) => format!("user:{user}"),
            Caller::Key { key, .. } => format!("key:{}", key.id),
        }
    }

    fn role(&self) -> Option<ApiKeyRole> {
        match self {
            Caller::User(_) => None,
            Caller::Key { key, .. } => Some(key.role),
        }
    }

    /// Service-only endpoints (token read, proxy, SMS).
    pub fn require_service(&self) -> ApiResult<()> {
        match self.role() {
            Some(ApiKeyRole::Service) => Ok(()),
            _ => Err(ApiError::forbidden(
                "This endpoint needs an API key with the service role.",
            )),
        }
    }

    /// Admin-only endpoints (provider configuration, API keys).
    pub fn require_admin(&self) -> ApiResult<()> {
        match self.role() {
            Some(ApiKeyRole::Admin) => Ok(()),
            _ => Err(ApiError::forbidden(
                "This endpoint needs an API key with the admin role.",
            )),
        }
    }

    /// The user an endpoint acts for: the signed-in user, or the user a service key names.
    pub fn user(&self) -> ApiResult<UserId> {
        match self {
            Caller::User(user) => Ok(user.clone()),
            Caller::Key {
                key,
                acting_for: Some(user),
            } if key.role == ApiKeyRole::Service => Ok(user.clone()),
            Caller::Key { key, .. } if key.role == ApiKeyRole::Service => {
                Err(ApiError::bad_request(
                    "user_required",
                    format!(
                        "A service key must name the user it acts for in the {ACT_FOR_HEADER} header."
                    ),
                ))
            }
            Caller::Key { .. } => Err(ApiError::forbidden(
                "This endpoint is for users or service keys acting for a user.",
            )),
        }
    }

    /// Whether the caller may see this integration: users and service keys acting for a user
    /// only that user's, other service keys and admin keys any. Others' look like missing.
    pub fn may_see(&self, integration: &Integration) -> bool {
        match self {
            Caller::User(user) => *user == integration.user_id,
            Caller::Key {
                acting_for: Some(user),
                ..
            } => *user == integration.user_id,
            Caller::Key { .. } => true,
        }
    }

    /// Whether the caller may change or use this integration (admin keys only read).
    pub fn may_act_on(&self, integration: &Integration) -> bool {
        self.may_see(integration) && self.role() != Some(ApiKeyRole::Admin)
    }
}

fn bearer(req: &HttpRequest) -> ApiResult<String> {
    let header = req.headers().get(AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized("Send `Authorization: Bearer <user JWT or API key>`.")
    })?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::unauthorized("The Authorization header is not valid text."))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(ApiError::unauthorized(
            "The Authorization header must be `Bearer <user JWT or API key>`.",
        )),
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<ApiState>>().cloned();
        let limiters = req
            .app_data::<web::Data<std::sync::Arc<crate::middleware::Limiters>>>()
            .cloned();
        let authenticated = async move |caller: Caller| {
            if let Some(limiters) = limiters {
                limiters.check_caller(&caller.identity())?;
            }
            Ok(caller)
        };
        let token = bearer(req);
        let acting_for = req
            .headers()
            .get(ACT_FOR_HEADER)
            .map(|v| v.to_str().map(str::to_owned));
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("API state missing"))?;
            let token = token?;
            if token.starts_with(KEY_PREFIX) {
                let key = state
                    .api_keys
                    .verify(&token)
                    .await
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::unauthorized("The API key is unknown or revoked."))?;
                let acting_for = match acting_for {
                    None => None,
                    Some(Ok(user)) => Some(UserId::parse(user).map_err(|e| {
                        ApiError::bad_request("invalid_user", format!("{ACT_FOR_HEADER}: {e}"))
                    })?),
                    Some(Err(_)) => {
                        return Err(ApiError::bad_request(
                            "invalid_user",
                            format!("{ACT_FOR_HEADER} is not valid text."),
                        ));
                    }
                };
                return authenticated(Caller::Key { key, acting_for }).await;
            }
            if acting_for.is_some() {
                return Err(ApiError::bad_request(
                    "invalid_request",
                    format!("{ACT_FOR_HEADER} is only for service keys."),
                ));
            }
            let user = state.jwt.verify(&token).await?;
            authenticated(Caller::User(user)).await
        })
    }
}

/// A caller holding a service key: refused with 403 before the request body is even read.
#[derive(Debug, Clone)]
pub struct ServiceCaller(pub Caller);

/// A caller holding an admin key: refused with 403 before the request body is even read.
#[derive(Debug, Clone)]
pub struct AdminCaller(pub Caller);

impl FromRequest for ServiceCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            let caller = caller.await?;
            caller.require_service()?;
            Ok(ServiceCaller(caller))
        })
    }
}

impl FromRequest for AdminCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            let caller = caller.await?;
            caller.require_admin()?;
            Ok(AdminCaller(caller))
        })
    }
}
