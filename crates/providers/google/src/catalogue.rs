//! The Google scope catalogue: OpenID Connect, Calendar, Drive, Gmail and Tasks. Scopes that
//! reach all of a person's mail, files or calendars, or send and delete for them, are marked
//! dangerous.

use tether_core::scope_catalog::ScopeCategory::{Admin, Read, Write};

use crate::google_scope;
use crate::scopes::{EMAIL, OPENID, PROFILE, ScopeSpec};

/// Every scope the Google provider offers.
pub const GOOGLE_SCOPES: &[ScopeSpec] = &[
    OPENID.required(),
    EMAIL.required(),
    PROFILE,
    // Calendar
    google_scope!("calendar.readonly", "Read calendars", "See and download any calendar you can access.", Read),
    google_scope!("calendar.events.readonly", "Read events", "View events on all your calendars.", Read),
    google_scope!("calendar.freebusy", "Free/busy", "See the availability on calendars you have access to.", Read),
    google_scope!("calendar.settings.readonly", "Calendar settings", "See your Google Calendar settings.", Read),
    google_scope!("calendar.events", "Edit events", "View and edit events on all your calendars.", Write),
    google_scope!("calendar.events.owned", "Edit your events", "See, create, change and delete events on calendars you own.", Write),
    google_scope!("calendar.app.created", "Calendars made by the app", "Make secondary calendars and manage the calendars and events this app created.", Write),
    google_scope!("calendar", "Full calendar access", "See, edit, share and permanently delete all the calendars you can access.", Admin).dangerous(),
    // Drive
    google_scope!("drive.file", "Files used with the app", "See, edit, create and delete only the Drive files you use with this app.", Write),
    google_scope!("drive.appdata", "App data folder", "See, create and delete this app's own configuration data in your Drive.", Write),
    google_scope!("drive.metadata.readonly", "Drive metadata", "See information about your Drive files (names, owners, dates), not their content.", Read),
    google_scope!("drive.readonly", "Read all files", "See and download all your Drive files.", Read).dangerous(),
    google_scope!("drive", "Full Drive access", "See, edit, create and delete all your Drive files.", Admin).dangerous(),
    // Gmail
    google_scope!("gmail.metadata", "Mail metadata", "See your e-mail headers and labels, not message bodies.", Read),
    google_scope!("gmail.readonly", "Read mail", "Read all your e-mail messages and settings.", Read).dangerous(),
    google_scope!("gmail.send", "Send mail", "Send e-mail on your behalf.", Write).dangerous(),
    google_scope!("gmail.compose", "Drafts and sending", "Manage drafts and send e-mail.", Write).dangerous(),
    google_scope!("gmail.insert", "Add mail", "Add e-mail messages to your mailbox.", Write).dangerous(),
    google_scope!("gmail.settings.basic", "Mail settings", "See, edit, create and change your e-mail settings and filters.", Write).dangerous(),
    google_scope!("gmail.settings.sharing", "Mail forwarding and delegates", "Manage sensitive mail settings: forwarding rules, aliases and delegates.", Admin).dangerous(),
    google_scope!("gmail.modify", "Read and change mail", "Read, compose, send and organise your e-mail (no permanent deletion).", Write).dangerous(),
    ScopeSpec::new("https://mail.google.com/", "Full mail access", "Read, compose, send and permanently delete all your e-mail, including over IMAP, POP and SMTP.", Admin).dangerous(),
    // Tasks
    google_scope!("tasks.readonly", "Read tasks", "View your task lists and tasks.", Read),
    google_scope!("tasks", "Edit tasks", "Create, edit, organise and delete your tasks.", Write),
];

/// Requested when the caller names no scopes: identity and read-only calendar and tasks.
pub const GOOGLE_DEFAULT_SCOPES: [&str; 5] = [
    "openid",
    "email",
    "profile",
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/tasks.readonly",
];

/// Added to every request: the account cannot be identified without them.
pub const GOOGLE_IMPLICIT_SCOPES: [&str; 2] = ["openid", "email"];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use tether_core::ProviderKind;
    use tether_core::scope_catalog::ScopeCategory;

    use super::*;
    use crate::scopes::catalogue;

    #[test]
    fn every_row_is_a_valid_distinct_scope_and_defaults_come_from_the_catalogue() {
        let entries = catalogue(ProviderKind::Google, GOOGLE_SCOPES);
        assert_eq!(entries.len(), GOOGLE_SCOPES.len(), "a row failed to parse");
        let names: BTreeSet<&str> = entries.iter().map(|e| e.scope.as_str()).collect();
        assert_eq!(names.len(), entries.len(), "duplicate rows");
        for scope in GOOGLE_DEFAULT_SCOPES.iter().chain(&GOOGLE_IMPLICIT_SCOPES) {
            assert!(names.contains(scope), "{scope} is not in the catalogue");
        }
        for api in ["calendar", "drive", "gmail", "tasks"] {
            assert!(
                names.iter().any(|n| n.contains(&format!("/auth/{api}"))),
                "{api} has scopes"
            );
        }
    }

    #[test]
    fn identity_scopes_are_required_and_full_access_scopes_are_dangerous_admin() {
        let entries = catalogue(ProviderKind::Google, GOOGLE_SCOPES);
        let entry = |name: &str| entries.iter().find(|e| e.scope.as_str() == name).unwrap();
        let required: Vec<&str> = entries
            .iter()
            .filter(|e| e.is_required)
            .map(|e| e.scope.as_str())
            .collect();
        assert_eq!(required, ["openid", "email"]);
        for full in [
            "https://mail.google.com/",
            "https://www.googleapis.com/auth/drive",
            "https://www.googleapis.com/auth/calendar",
        ] {
            assert_eq!(entry(full).category, ScopeCategory::Admin, "{full}");
            assert!(entry(full).is_dangerous, "{full}");
        }
        let narrow = entry("https://www.googleapis.com/auth/drive.file");
        assert!(!narrow.is_dangerous);
        assert!(entries.iter().all(|e| e.provider == ProviderKind::Google));
    }
}
