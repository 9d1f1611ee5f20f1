//! Orange as the core SMS port: what the API's `/sms` routes call, so that they need no
//! Orange type.

use async_trait::async_trait;
use tether_core::ProviderKind;
use tether_core::provider::{AppTokenSource, ProviderError};
use tether_core::sms::{SmsContract, SmsRequest, SmsSender, SmsSent};

use crate::provider::OrangeProvider;

#[async_trait]
impl SmsSender for OrangeProvider {
    fn provider(&self) -> ProviderKind {
        ProviderKind::Orange
    }

    async fn send_sms(
        &self,
        tokens: &dyn AppTokenSource,
        request: &SmsRequest,
    ) -> Result<SmsSent, ProviderError> {
        OrangeProvider::send_sms(self, tokens, request).await
    }

    async fn balance(
        &self,
        tokens: &dyn AppTokenSource,
    ) -> Result<Vec<SmsContract>, ProviderError> {
        OrangeProvider::balance(self, tokens).await
    }
}
