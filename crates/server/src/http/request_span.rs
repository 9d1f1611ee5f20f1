//! The per-request span. Unlike tracing-actix-web's default it records the path without the
//! query string — OAuth callbacks carry the authorization code and state there — and logs
//! probe requests at DEBUG so health checks do not flood the logs.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::{RequestId, RootSpanBuilder};

#[derive(Debug)]
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let method = request.method().as_str();
        let path = request.path();
        if matches!(path, "/healthz" | "/readyz") {
            tracing::debug_span!("request", method, route, path, request_id, status = Empty)
        } else {
            tracing::info_span!("request", method, route, path, request_id, status = Empty)
        }
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
    }
}
