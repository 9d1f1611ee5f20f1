//! `/console/audit` and `/console/audit.csv`: filters narrow the records, pages go back in
//! time without overlap, bad filters are explained, the export is a guarded CSV download.

use super::*;
use tether_core::audit::AuditEvent;
use tether_core::{ApiKeyId, IntegrationId, UserId};

/// The `n` of every record's `{"n": …}` detail on a page, in page order.
fn numbers(page: &str) -> Vec<i64> {
    page.split("{&quot;n&quot;:")
        .skip(1)
        .map(|rest| rest[..rest.find('}').unwrap()].parse().unwrap())
        .collect()
}

/// The "Older" link's target, unescaped.
fn older_link(page: &str) -> Option<String> {
    let end = page.find("\" rel=\"next\"")?;
    let start = page[..end].rfind("href=\"")? + "href=\"".len();
    Some(page[start..end].replace("&amp;", "&"))
}

struct Seeded {
    key: ApiKeyId,
    integration: IntegrationId,
}

/// 60 token reads of u1's integration by one API key (n = 0..60, a minute apart from two
/// hours ago) and 15 connects by user u2 (n = 100..115, after them).
async fn seed(console: &Console) -> Seeded {
    let key = ApiKeyId::new();
    let integration = IntegrationId::new();
    let start = console.clock_now() - Duration::hours(2);
    let mut events = Vec::new();
    for n in 0..60 {
        let mut e = AuditEvent::new(Actor::ApiKey(key), AuditAction::TokenRead);
        e.user_id = Some(UserId::parse("u1").unwrap());
        e.integration_id = Some(integration);
        e.provider = Some(tether_core::ProviderKind::Google);
        e.detail = Some(serde_json::json!({ "n": n }));
        e.created_at = start + Duration::minutes(n);
        events.push(e);
    }
    for n in 100..115 {
        let user = UserId::parse("u2").unwrap();
        let mut e = AuditEvent::new(Actor::User(user.clone()), AuditAction::Connected);
        e.user_id = Some(user);
        e.detail = Some(serde_json::json!({ "n": n }));
        e.created_at = start + Duration::minutes(n);
        events.push(e);
    }
    console.store.append_batch(&events).await.unwrap();
    Seeded { key, integration }
}

async fn the_audit_log_filters_and_pages_back_without_overlap(db: TestDb) {
    let console = Console::start(db, default_limits()).await;
    let seeded = seed(&console).await;
    let mut jar = console.signed_in("root", ADMIN_PASSWORD).await;

    let (status, page, _) = console.get(&mut jar, "/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/console/audit\""), "in the nav");

    let (status, first, _) = console.get(&mut jar, "/console/audit").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(first.contains("console_sign_in"), "the newest record first");
    let newest = numbers(&first);
    assert_eq!(newest.len(), 49, "50 a page: the sign-in and 49 seeded");
    assert_eq!(newest[0], 114);
    assert!(first.contains(&format!(
        "href=\"/console/integrations/{}\"",
        seeded.integration
    )));

    // Token reads only: 50, then the 10 older ones, newest first, no overlap.
    let (status, page1, _) = console
        .get(&mut jar, "/console/audit?action=token_read")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(numbers(&page1), (10..60).rev().collect::<Vec<_>>());
    let older = older_link(&page1).expect("an Older link");
    assert!(older.contains("action=token_read"), "{older}");
    let (status, page2, _) = console.get(&mut jar, &older).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(numbers(&page2), (0..10).rev().collect::<Vec<_>>());
    assert!(older_link(&page2).is_none(), "the oldest page");

    let only = |path: &str| {
        let path = path.to_owned();
        let console = &console;
        let mut jar = jar.clone();
        async move {
            let (status, page, _) = console.get(&mut jar, &path).await;
            assert_eq!(status, StatusCode::OK, "{path}: {page}");
            numbers(&page)
        }
    };
    assert_eq!(
        only("/console/audit?user_id=u2").await,
        (100..115).rev().collect::<Vec<_>>()
    );
    assert_eq!(
        only("/console/audit?actor_kind=user&actor_id=u2")
            .await
            .len(),
        15
    );
    let by_key = only(&format!(
        "/console/audit?actor_kind=api_key&actor_id={}&integration_id={}",
        seeded.key, seeded.integration
    ))
    .await;
    assert_eq!(by_key.len(), 50);
    assert!(by_key.iter().all(|n| *n < 60));
    assert!(
        only(&format!(
            "/console/audit?actor_kind=console&actor_id={}",
            seeded.key
        ))
        .await
        .is_empty()
    );
    // A window of five minutes, as a browser's datetime-local fields send it.
    let start = console.clock_now() - Duration::hours(2);
    let window = format!(
        "/console/audit?since={}&until={}",
        (start + Duration::minutes(20)).format("%Y-%m-%dT%H:%M"),
        (start + Duration::minutes(24)).format("%Y-%m-%dT%H:%M"),
    );
    let in_window = only(&window).await;
    assert!(
        !in_window.is_empty() && in_window.iter().all(|n| (19..=24).contains(n)),
        "{in_window:?}"
    );
}

async fn bad_audit_filters_are_explained_with_a_400(db: TestDb) {
    let console = Console::start(db, default_limits()).await;
    let mut jar = console.signed_in("root", ADMIN_PASSWORD).await;
    for (query, words) in [
        ("action=deleted", "Action"),
        ("integration_id=not-a-uuid", "Integration id"),
        ("actor_kind=robot", "Actor kind"),
        ("since=yesterday", "Since"),
        (
            "since=2026-12-02T00:00&until=2026-12-01T00:00",
            "after until",
        ),
        ("before=abc", "paging cursor"),
        ("user_id=a&user_id=b", "could not be read"),
    ] {
        let (status, page, _) = console
            .get(&mut jar, &format!("/console/audit?{query}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(page.contains("role=\"alert\""), "{query}");
        assert!(page.contains(words), "{query}: {page}");
        assert!(page.contains("<form class=\"filters\""), "the form again");
    }
    for query in ["action=deleted", "action=a&action=b"] {
        let (status, page, _) = console
            .get(&mut jar, &format!("/console/audit.csv?{query}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(page.contains("Export refused"), "{query}: no file");
    }
}

async fn the_audit_export_is_a_guarded_csv_of_the_same_query(db: TestDb) {
    let console = Console::start(db, default_limits()).await;
    let mut risky = AuditEvent::new(Actor::Operator("ops@host".into()), AuditAction::KeysRotated)
        .failed("said \"no\", twice");
    risky.user_agent = Some("=HYPERLINK(\"http://evil\")".into());
    risky.user_id = Some(UserId::parse("+1").unwrap());
    console.store.append(&risky).await.unwrap();
    let jar = console.signed_in("root", ADMIN_PASSWORD).await;

    let response = console
        .http
        .get(format!(
            "{}/console/audit.csv?actor_kind=operator",
            console.base
        ))
        .header(COOKIE, jar.header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let disposition = response.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"tether-audit-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    assert!(!response.headers().contains_key("tether-export-truncated"));
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines.len(),
        2,
        "the header and the operator's record only: {text}"
    );
    assert!(lines[0].starts_with("id,time,actor_kind,actor_id,actor,action,"));
    let row = lines[1];
    assert!(
        row.contains(",operator,ops@host,operator ops@host,keys_rotated,"),
        "{row}"
    );
    assert!(
        row.contains(",'+1,"),
        "a user id that looks like a formula: {row}"
    );
    assert!(row.contains(",\"said \"\"no\"\", twice\","), "{row}");
    assert!(
        row.contains(",\"'=HYPERLINK(\"\"http://evil\"\")\","),
        "{row}"
    );

    // Staff get neither the page nor the export.
    console
        .account("sam", ConsoleRole::Staff, STAFF_PASSWORD, "")
        .await;
    let mut staff = console.signed_in("sam", STAFF_PASSWORD).await;
    let (_, overview, _) = console.get(&mut staff, "/console").await;
    assert!(
        !overview.contains("/console/audit"),
        "no nav entry for staff"
    );
    for path in ["/console/audit", "/console/audit.csv"] {
        let (status, _, _) = console.get(&mut staff, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
}

async fn an_export_stops_at_ten_thousand_records_and_says_so(db: TestDb) {
    let console = Console::start(db, default_limits()).await;
    let events: Vec<_> = (0..10_003)
        .map(|n| {
            let mut e = AuditEvent::new(Actor::System, AuditAction::TokenRead);
            e.detail = Some(serde_json::json!({ "n": n }));
            e
        })
        .collect();
    console.store.append_batch(&events).await.unwrap();
    let jar = console.signed_in("root", ADMIN_PASSWORD).await;
    let export = |query: &'static str| {
        let request = console
            .http
            .get(format!("{}/console/audit.csv?{query}", console.base))
            .header(COOKIE, jar.header());
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let truncated = response.headers().contains_key("tether-export-truncated");
            (truncated, response.text().await.unwrap())
        }
    };
    let (truncated, text) = export("action=token_read").await;
    assert!(truncated);
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 10_001, "the header and 10,000 records");
    assert!(
        lines[1].ends_with("\"{\"\"n\"\":10002}\""),
        "newest first: {}",
        lines[1]
    );
    assert!(
        lines[10_000].ends_with("\"{\"\"n\"\":3}\""),
        "{}",
        lines[10_000]
    );
    let (truncated, text) = export("action=console_sign_in").await;
    assert!(!truncated);
    assert_eq!(text.split("\r\n").filter(|l| !l.is_empty()).count(), 2);
}

tether_testkit::engine_tests!(
    an_export_stops_at_ten_thousand_records_and_says_so,
    the_audit_log_filters_and_pages_back_without_overlap,
    bad_audit_filters_are_explained_with_a_400,
    the_audit_export_is_a_guarded_csv_of_the_same_query,
);
