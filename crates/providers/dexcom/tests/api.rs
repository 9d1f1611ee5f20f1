#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Dexcom's v3 data API as this crate calls it: identity and the connection test from the
//! data range, typed EGVs split into ≤ 30-day windows, and API failures by status.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use tether_core::provider::{Provider, ProviderError, ProviderSettings, RawTokenResponse};
use tether_core::secret::{AccessToken, ClientSecret};
use tether_provider_dexcom::{DexcomProvider, GlucoseUnit, Trend};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn against(server: &MockServer) -> DexcomProvider {
    let mut s = ProviderSettings::new("client-1", Some(ClientSecret::new("secret")));
    s.options.insert("region".into(), "eu".into());
    s.endpoints.insert("api_base".into(), server.uri());
    DexcomProvider::new(&s, reqwest::Client::new()).unwrap()
}

fn token() -> AccessToken {
    AccessToken::new("at-1")
}

fn token_answer() -> RawTokenResponse {
    RawTokenResponse::parse(br#"{"access_token":"at-1","refresh_token":"rt"}"#).unwrap()
}

fn data_range() -> serde_json::Value {
    json!({
        "recordType": "dataRange", "recordVersion": "3.0", "userId": "8f9a-user",
        "calibrations": {"start": null, "end": null},
        "egvs": {"start": {"systemTime": "2024-01-01T00:00:00", "displayTime": "2024-01-01T01:00:00"},
                 "end": {"systemTime": "2024-03-01T00:00:00", "displayTime": "2024-03-01T01:00:00"}},
        "events": {"start": null, "end": null}
    })
}

async fn mount_data_range(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v3/users/self/dataRange"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(data_range()))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn identity_is_the_user_id_of_the_data_range() {
    let server = MockServer::start().await;
    mount_data_range(&server).await;
    let identity = against(&server)
        .fetch_identity(&token(), &token_answer(), None)
        .await
        .unwrap();
    assert_eq!(identity.subject, "8f9a-user");
    assert_eq!(identity.label.as_deref(), Some("Dexcom account (eu)"));
    assert_eq!(identity.metadata["region"], "eu");
    assert_eq!(identity.metadata["record_version"], "3.0");
}

#[tokio::test]
async fn the_connection_test_calls_the_data_range() {
    let server = MockServer::start().await;
    mount_data_range(&server).await;
    let report = against(&server).test_connection(&token()).await.unwrap();
    assert!(report.detail.contains("data range"), "{}", report.detail);
    assert!(report.detail.contains("glucose readings are available"));
}

async fn api_error(status: u16, retry_after: Option<&str>) -> ProviderError {
    let server = MockServer::start().await;
    let mut answer = ResponseTemplate::new(status)
        .set_body_json(json!({"fault": {"faultstring": "upstream words"}}));
    if let Some(wait) = retry_after {
        answer = answer.insert_header("retry-after", wait);
    }
    Mock::given(method("GET"))
        .respond_with(answer)
        .mount(&server)
        .await;
    against(&server)
        .test_connection(&token())
        .await
        .unwrap_err()
}

#[tokio::test]
async fn api_failures_map_by_status_and_keep_dexcoms_words() {
    let rejected = api_error(401, None).await;
    assert!(
        matches!(rejected, ProviderError::Revoked { .. }),
        "{rejected:?}"
    );
    assert!(rejected.to_string().contains("upstream words"));
    assert!(!rejected.to_string().contains("at-1"), "never the token");

    let forbidden = api_error(403, None).await;
    assert!(
        matches!(forbidden, ProviderError::Misconfigured { .. }),
        "{forbidden:?}"
    );

    let limited = api_error(429, Some("30")).await;
    assert!(
        matches!(limited, ProviderError::RateLimited { .. }),
        "{limited:?}"
    );
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(30)));

    let down = api_error(500, None).await;
    assert!(
        matches!(
            down,
            ProviderError::Upstream {
                status: Some(500),
                ..
            }
        ),
        "{down:?}"
    );

    let bad_window = api_error(400, None).await;
    assert!(matches!(
        bad_window,
        ProviderError::Upstream {
            status: Some(400),
            ..
        }
    ));
}

#[tokio::test]
async fn a_data_range_without_a_user_fails_identity() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"recordType": "dataRange"})))
        .mount(&server)
        .await;
    let err = against(&server)
        .fetch_identity(&token(), &token_answer(), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("userId"), "{err}");
}

fn day(month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, month, day, 6, 30, 0).unwrap()
}

fn egv_page(ids: &[&str]) -> serde_json::Value {
    let records: Vec<_> = ids
        .iter()
        .map(|id| {
            json!({"recordId": id, "systemTime": "2024-01-05T06:30:00", "displayTime": "2024-01-05T07:30:00+01:00",
                   "value": 120, "unit": "mg/dL", "trend": "flat", "status": null, "trendRate": null})
        })
        .collect();
    json!({"recordType": "egv", "recordVersion": "3.0", "userId": "u", "records": records})
}

#[tokio::test]
async fn a_75_day_egv_request_becomes_three_consecutive_windows_concatenated_in_order() {
    let server = MockServer::start().await;
    let windows = [
        (
            "2024-01-01T06:30:00",
            "2024-01-31T06:30:00",
            vec!["a1", "a2"],
        ),
        ("2024-01-31T06:30:00", "2024-03-01T06:30:00", vec!["b1"]),
        (
            "2024-03-01T06:30:00",
            "2024-03-16T06:30:00",
            vec!["c1", "c2"],
        ),
    ];
    for (start, end, ids) in &windows {
        Mock::given(method("GET"))
            .and(path("/v3/users/self/egvs"))
            .and(wiremock::matchers::query_param("startDate", *start))
            .and(wiremock::matchers::query_param("endDate", *end))
            .and(header("authorization", "Bearer at-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(egv_page(ids)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let egvs = against(&server)
        .egvs(&token(), day(1, 1), day(3, 16))
        .await
        .unwrap();
    let ids: Vec<_> = egvs.iter().filter_map(|e| e.record_id.as_deref()).collect();
    assert_eq!(ids, ["a1", "a2", "b1", "c1", "c2"]);
    assert_eq!(egvs[0].value, Some(120.0));
    assert_eq!(egvs[0].unit, GlucoseUnit::MgPerDl);
    assert_eq!(egvs[0].trend, Trend::Flat);

    let sent = server.received_requests().await.unwrap();
    assert_eq!(sent.len(), 3);
    let queries: Vec<_> = sent
        .iter()
        .map(|r| r.url.query().unwrap().to_owned())
        .collect();
    assert_eq!(
        queries,
        windows
            .iter()
            .map(|(s, e, _)| format!(
                "startDate={}&endDate={}",
                s.replace(':', "%3A"),
                e.replace(':', "%3A")
            ))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_record_repeated_at_a_window_boundary_is_kept_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::query_param(
            "startDate",
            "2024-01-01T06:30:00",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(egv_page(&["a", "edge"])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::query_param(
            "startDate",
            "2024-01-31T06:30:00",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(egv_page(&["edge", "b"])))
        .mount(&server)
        .await;
    let egvs = against(&server)
        .egvs(&token(), day(1, 1), day(2, 10))
        .await
        .unwrap();
    let ids: Vec<_> = egvs.iter().filter_map(|e| e.record_id.as_deref()).collect();
    assert_eq!(ids, ["a", "edge", "b"]);
}

#[tokio::test]
async fn a_failing_window_fails_the_whole_call_and_stops() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "5"))
        .expect(1)
        .mount(&server)
        .await;
    let err = against(&server)
        .egvs(&token(), day(1, 1), day(3, 16))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::RateLimited { .. }), "{err:?}");
}

#[tokio::test]
async fn empty_and_reversed_windows_call_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(egv_page(&[])))
        .expect(0)
        .mount(&server)
        .await;
    let p = against(&server);
    assert!(
        p.egvs(&token(), day(1, 1), day(1, 1))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(p.egvs(&token(), day(1, 2), day(1, 1)).await.is_err());
}
