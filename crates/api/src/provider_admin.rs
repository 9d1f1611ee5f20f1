//! Changing a provider configuration, shared by the admin API and the console: check it by
//! building the provider, store it (the secret encrypted), audit it, apply it at once; remove
//! it; test it; and for OpenEMR sites, discovery and registration. The callers differ only in
//! who the actor is and how they show the outcome.

use serde_json::json;
use tether_core::ProviderKind;
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::provider_config::{ProviderConfig, ProviderConfigInput};

use crate::error::{ApiError, ApiResult};
use crate::state::{ApiState, SiteRegistration, SiteRegistrationRequest};

/// What a configuration test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderTest {
    pub ok: bool,
    /// What was reached and what failed, in the provider code's words.
    pub detail: String,
}

/// Checks an instance name: at most 128 plain characters, no `/`.
pub fn check_instance(instance: &str) -> ApiResult<()> {
    if instance.chars().count() > 128 || instance.chars().any(|c| c.is_control() || c == '/') {
        return Err(ApiError::bad_request(
            "invalid_instance",
            "instance must be at most 128 plain characters.",
        ));
    }
    Ok(())
}

impl ApiState {
    /// Checks `input` (a configuration that cannot work is refused with the reason, code
    /// `invalid_provider_config`), stores it, audits it and rebuilds this replica's
    /// providers. A missing secret keeps the stored one.
    pub async fn save_provider_config(
        &self,
        actor: Actor,
        input: ProviderConfigInput,
    ) -> ApiResult<ProviderConfig> {
        check_instance(&input.instance)?;
        if input.client_id.trim().is_empty() || input.client_id.chars().count() > 512 {
            return Err(ApiError::bad_request(
                "invalid_request",
                "client_id is required (at most 512 characters).",
            ));
        }
        let (kind, instance) = (input.provider, input.instance.clone());
        let stored_secret = match &input.client_secret {
            Some(_) => None,
            None => self
                .stores
                .provider_configs
                .get(kind, &instance)
                .await?
                .and_then(|c| c.client_secret),
        };
        self.providers
            .validate(kind, &input.settings(stored_secret))
            .await
            .map_err(|reason| ApiError::bad_request("invalid_provider_config", reason))?;
        let saved = self.stores.provider_configs.upsert(input).await?;
        let mut event = AuditEvent::new(actor, AuditAction::ProviderConfigChanged);
        event.provider = Some(kind);
        event.detail = Some(json!({ "instance": instance, "enabled": saved.enabled }));
        self.broker().record_audit(event).await;
        self.reload_providers().await.map_err(ApiError::internal)?;
        Ok(saved)
    }

    /// Removes a stored configuration (the file or environment one, or the sandbox, applies
    /// again). `false` when none was stored.
    pub async fn delete_provider_config(
        &self,
        actor: Actor,
        kind: ProviderKind,
        instance: &str,
    ) -> ApiResult<bool> {
        check_instance(instance)?;
        if !self.stores.provider_configs.delete(kind, instance).await? {
            return Ok(false);
        }
        let mut event = AuditEvent::new(actor, AuditAction::ProviderConfigChanged);
        event.provider = Some(kind);
        event.detail = Some(json!({ "instance": instance, "deleted": true }));
        self.broker().record_audit(event).await;
        self.reload_providers().await.map_err(ApiError::internal)?;
        Ok(true)
    }

    /// Tries the configuration without a user and audits the outcome.
    pub async fn test_provider_config(
        &self,
        actor: Actor,
        kind: ProviderKind,
        instance: &str,
    ) -> ApiResult<ProviderTest> {
        check_instance(instance)?;
        let test = match self.providers.test(kind, instance).await {
            Ok(detail) => ProviderTest { ok: true, detail },
            Err(detail) => ProviderTest { ok: false, detail },
        };
        let mut event = AuditEvent::new(actor, AuditAction::TestConnection);
        event.provider = Some(kind);
        event.success = test.ok;
        event.detail = Some(json!({ "instance": instance, "detail": test.detail }));
        self.broker().record_audit(event).await;
        Ok(test)
    }

    /// Registers Tether as a confidential client at an OpenEMR site and audits it (never the
    /// secret). `redirect_uri` is set here from the public URL. The caller stores the credentials with [`Self::save_provider_config`].
    pub async fn register_openemr_site(
        &self,
        actor: Actor,
        mut request: SiteRegistrationRequest,
    ) -> ApiResult<SiteRegistration> {
        request.redirect_uri = self
            .broker()
            .callback_url(ProviderKind::Openemr)?
            .to_string();
        let outcome = self.providers.register_site(&request).await;
        let mut event = AuditEvent::new(actor, AuditAction::ProviderRegistered);
        event.provider = Some(ProviderKind::Openemr);
        event.success = outcome.is_ok();
        event.detail = Some(match &outcome {
            Ok(done) => json!({ "site_url": request.site_url, "client_id": done.client_id }),
            Err(why) => json!({ "site_url": request.site_url, "error": why }),
        });
        self.broker().record_audit(event).await;
        outcome.map_err(|why| ApiError::bad_request("registration_failed", why))
    }
}
