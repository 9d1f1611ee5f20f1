//! The markup of the webhook pages: the endpoint list with its create form, one endpoint with
//! its actions and recent deliveries, and the answers that show a signing secret once.

use maud::{Markup, html};
use tether_core::events::EventType;
use tether_core::secret::WebhookSecret;
use tether_core::webhooks::{DeliveryRecord, EndpointState, WebhookEndpoint};
use tether_webhooks::{DeliveryPage, TestSend};

use crate::page::{self, Nav, csrf_field, page};
use crate::session::Signed;

/// What the create form had, to show it again with an error.
#[derive(Debug, Default)]
pub(super) struct Typed {
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

fn types(endpoint: &WebhookEndpoint) -> String {
    if endpoint.event_types.is_empty() {
        "every type".to_owned()
    } else {
        endpoint
            .event_types
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn state(endpoint: &WebhookEndpoint) -> Markup {
    html! {
        @match endpoint.state() {
            EndpointState::Enabled => span.ok { "enabled" },
            state => {
                span.error { (state) }
                @if let Some(reason) = &endpoint.disabled_reason { br; small { (reason) } }
            }
        }
        @if let Some(since) = endpoint.failing_since { br; small { "failing since " (when(since)) } }
    }
}

pub(super) fn list_page(
    signed: &Signed,
    endpoints: &[WebhookEndpoint],
    notice: Option<&str>,
    error: Option<&str>,
    typed: &Typed,
) -> Markup {
    page(
        "Webhooks",
        signed,
        Nav::Webhooks,
        html! {
            (page::notice(notice))
            (page::error(error))
            p { "Tether posts signed events (Standard Webhooks) to these endpoints when integrations change. Each change here is audited." }
            h2 { "Endpoints" }
            @if endpoints.is_empty() {
                p { "No webhook endpoints yet." }
            } @else {
                div.table { table {
                    thead { tr {
                        th scope="col" { "URL" } th scope="col" { "Events" } th scope="col" { "State" } th scope="col" { "Created" }
                    } }
                    tbody { @for e in endpoints { tr {
                        td {
                            a href={ "/console/webhooks/" (e.id) } { (e.url.as_str()) }
                            @if !e.description.is_empty() { br; small { (e.description) } }
                        }
                        td { (types(e)) }
                        td { (state(e)) }
                        td { (when(e.created_at)) }
                    } } }
                } }
            }
            h2 { "Add an endpoint" }
            form.stack method="post" action="/console/webhooks" {
                (csrf_field(signed))
                label for="hook-url" { "URL" small { "https, reachable from Tether" } }
                input id="hook-url" name="url" type="url" required maxlength="2048" value=(typed.url);
                label for="hook-description" { "Description" small { "Optional, at most 500 characters" } }
                input id="hook-description" name="description" type="text" maxlength="500" value=(typed.description);
                fieldset {
                    legend { "Event types" small { " (none ticked: every type)" } }
                    @for t in EventType::ALL {
                        label.check {
                            input type="checkbox" name="event_types" value=(t.as_str())
                                checked[typed.event_types.iter().any(|x| x == t.as_str())];
                            " " (t.as_str())
                        }
                    }
                }
                button type="submit" { "Add endpoint" }
            }
        },
    )
}

pub(super) fn detail_page(
    signed: &Signed,
    endpoint: &WebhookEndpoint,
    deliveries: &DeliveryPage,
    notice: Option<&str>,
) -> Markup {
    let base = format!("/console/webhooks/{}", endpoint.id);
    page(
        "Webhook endpoint",
        signed,
        Nav::Webhooks,
        html! {
            (page::notice(notice))
            dl {
                dt { "URL" } dd { code { (endpoint.url.as_str()) } }
                dt { "Description" } dd { @if endpoint.description.is_empty() { "—" } @else { (endpoint.description) } }
                dt { "Events" } dd { (types(endpoint)) }
                dt { "State" } dd { (state(endpoint)) }
                dt { "Id" } dd { code { (endpoint.id) } }
                @if let Some(until) = endpoint.previous_secret_expires_at {
                    dt { "Previous secret" } dd { "still signs beside the new one until " (when(until)) }
                }
            }
            div.actions {
                @if endpoint.enabled {
                    form.inline method="post" action={ (base) "/disable" } {
                        (csrf_field(signed))
                        button.danger type="submit" { "Disable" }
                    }
                } @else {
                    form.inline method="post" action={ (base) "/enable" } {
                        (csrf_field(signed))
                        button type="submit" { "Enable" }
                    }
                }
                " "
                form.inline method="post" action={ (base) "/test" } {
                    (csrf_field(signed))
                    button type="submit" { "Send a test event" }
                }
                " "
                form.inline method="post" action={ (base) "/rotate-secret" } {
                    (csrf_field(signed))
                    button type="submit" { "Rotate the signing secret" }
                }
            }
            h2 { "Recent deliveries" }
            @if deliveries.deliveries.is_empty() {
                p { "No deliveries yet." }
            } @else {
                div.table { table {
                    thead { tr {
                        th scope="col" { "Event" } th scope="col" { "Status" } th scope="col" { "Attempts" }
                        th scope="col" { "Last answer" } th scope="col" { "Last attempt" } th scope="col" { "" }
                    } }
                    tbody { @for d in &deliveries.deliveries { (delivery_row(signed, &base, d)) } }
                } }
            }
            nav.paging aria-label="Pages" {
                @if let Some(before) = deliveries.next_before {
                    a href={ (base) "?before=" (before) } rel="next" { "Older deliveries" }
                }
            }
            p { a href="/console/webhooks" { "Back to webhooks" } }
        },
    )
}

fn delivery_row(signed: &Signed, base: &str, d: &DeliveryRecord) -> Markup {
    html! {
        tr {
            td { (d.event_type) br; small { (d.event_id.as_uuid()) } }
            td {
                (d.status)
                @if let Some(next) = d.next_attempt_at { br; small { "next try " (when(next)) } }
            }
            td { (d.attempts) }
            td {
                @match d.last_status_code { Some(code) => (code), None => "—" }
                @if let Some(ms) = d.last_latency_ms { " · " (ms) " ms" }
                @if let Some(error) = &d.last_error { br; small { (error) } }
            }
            td { @match d.last_attempt_at { Some(at) => (when(at)), None => "—" } }
            td {
                form.inline method="post" action={ (base) "/deliveries/" (d.event_id.as_uuid()) "/redeliver" } {
                    (csrf_field(signed))
                    button type="submit" { "Redeliver" }
                }
            }
        }
    }
}

/// The answer to creating an endpoint or rotating its secret: the secret, this once.
pub(super) fn secret_page(
    signed: &Signed,
    title: &str,
    what: &str,
    endpoint: &WebhookEndpoint,
    secret: &WebhookSecret,
) -> Markup {
    page(
        title,
        signed,
        Nav::Webhooks,
        html! {
            p.notice role="status" { (what) " " code { (endpoint.url.as_str()) } "." }
            p { strong { "Copy the signing secret now: it is shown only this once." } " Receivers verify each delivery's signature with it." }
            p.secret id="new-secret" { (secret.expose_secret()) }
            p { a href={ "/console/webhooks/" (endpoint.id) } { "Go to the endpoint" } }
        },
    )
}

/// How a test send went.
pub(super) fn test_page(signed: &Signed, endpoint: &WebhookEndpoint, sent: &TestSend) -> Markup {
    page(
        "Test event",
        signed,
        Nav::Webhooks,
        html! {
            @if sent.delivered {
                p.notice role="status" { "The endpoint accepted the test event." }
            } @else {
                p.error role="alert" { "The endpoint did not accept the test event." }
            }
            dl {
                dt { "Endpoint" } dd { code { (endpoint.url.as_str()) } }
                dt { "Answer" } dd { @match sent.status_code { Some(code) => (code), None => "none" } }
                dt { "Time" } dd { (sent.latency_ms) " ms" }
                @if let Some(error) = &sent.error { dt { "Error" } dd { (error) } }
                dt { "Test event id" } dd { code { (sent.event_id) } }
            }
            p { a href={ "/console/webhooks/" (endpoint.id) } { "Back to the endpoint" } }
        },
    )
}
