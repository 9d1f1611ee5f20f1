//! The console as the assembled server serves it: pages that need the API's use-cases
//! (webhooks) and the audit log, signed in through the real sign-in form.

use reqwest::StatusCode;
use tether_core::console::ConsoleRole;

use crate::console_support::ConsoleBrowser;
use crate::support::{Mode, TestServer};

async fn a_console_user_signs_in_and_forms_without_csrf_are_refused(mode: Mode) {
    let server = TestServer::start(mode).await;
    let admin = ConsoleBrowser::sign_in(&server, ConsoleRole::Admin, "").await;
    let (status, page) = admin.get("/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("Signed in as <strong>{}</strong>", admin.username)));

    let forged = admin.post_without_csrf("/console/sign-out", &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let (status, _) = admin.get("/console").await;
    assert_eq!(status, StatusCode::OK, "still signed in");

    let staff = ConsoleBrowser::sign_in(&server, ConsoleRole::Staff, "openemr:clinic-a").await;
    assert_ne!(staff.account_id, admin.account_id);
    let (status, _) = staff.get("/console/api-keys").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let out = admin.post_form("/console/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.location.unwrap().starts_with("/console/sign-in"));
    let after = admin.open("/console").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "{:?}", after.headers);
}

crate::both_modes!(a_console_user_signs_in_and_forms_without_csrf_are_refused);
