//! What each Microsoft scope means: sign-in scopes and the delegated Microsoft Graph
//! permissions Tether offers (PROVIDERS.md §3.8).

use tether_core::Scope;
use tether_core::provider::ProviderKind;
use tether_core::scope_catalog::{ScopeCatalogEntry, ScopeCategory};

use ScopeCategory::{Admin, Read, Write};

/// One catalogue row: name, display name, description, category, required, dangerous.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    ScopeCategory,
    bool,
    bool,
);

/// Admin-consent flags follow PROVIDERS.md §3.8 (category `admin` = an organisation's
/// administrator must consent); tenant admins can make any scope admin-only.
#[rustfmt::skip]
pub(crate) const CATALOGUE: &[Row] = &[
    ("openid", "Sign in", "Sign you in and identify your account (ID token).", Read, true, false),
    ("profile", "Basic profile", "Your name and basic profile in the ID token.", Read, false, false),
    ("email", "E-mail address", "Your e-mail address in the ID token.", Read, false, false),
    ("offline_access", "Stay connected", "Keep access when you are not signed in (refresh tokens).", Read, true, false),
    ("User.Read", "Your profile", "Read your Microsoft profile (/me).", Read, true, false),
    ("Calendars.Read", "Read calendars", "Read your Outlook calendars and events.", Read, false, false),
    ("Calendars.ReadWrite", "Manage calendars", "Create, change and delete events in your Outlook calendars.", Write, false, false),
    ("Calendars.Read.Shared", "Read shared calendars", "Read calendars you can access, including shared and delegated ones (work or school accounts).", Read, false, false),
    ("Calendars.ReadWrite.Shared", "Manage shared calendars", "Change events in calendars you can access, including shared and delegated ones (work or school accounts).", Write, false, false),
    ("Mail.Read", "Read mail", "Read the mail in your mailbox.", Read, false, false),
    ("Mail.ReadWrite", "Manage mail", "Read, change and delete the mail in your mailbox (not send).", Write, false, true),
    ("Mail.Send", "Send mail", "Send mail as you.", Write, false, true),
    ("Files.Read", "Read your files", "Read your OneDrive files.", Read, false, false),
    ("Files.ReadWrite", "Manage your files", "Create, change and delete your OneDrive files.", Write, false, false),
    ("Files.Read.All", "Read all your files", "Read every file you can access, including files shared with you.", Read, false, false),
    ("Files.ReadWrite.All", "Manage all your files", "Change and delete every file you can access, including files shared with you.", Write, false, true),
    ("Sites.Read.All", "Read SharePoint sites", "Read items in all SharePoint site collections you can access (work or school accounts).", Read, false, false),
    ("Sites.ReadWrite.All", "Edit SharePoint sites", "Create, change and delete items in all SharePoint site collections you can access (work or school accounts).", Write, false, true),
    ("Sites.FullControl.All", "Control SharePoint sites", "Full control of all SharePoint site collections; needs an administrator's consent.", Admin, false, true),
    ("Team.ReadBasic.All", "List your teams", "Read the names and descriptions of the Teams you belong to (work or school accounts).", Read, false, false),
    ("Channel.ReadBasic.All", "List channels", "Read the names and descriptions of Teams channels (work or school accounts).", Read, false, false),
    ("ChannelMessage.Send", "Post to channels", "Post messages in Teams channels as you (work or school accounts).", Write, false, true),
    ("ChannelMessage.Read.All", "Read channel messages", "Read the messages of Teams channels; needs an administrator's consent.", Admin, false, true),
];

pub(crate) fn catalogue() -> Vec<ScopeCatalogEntry> {
    CATALOGUE
        .iter()
        .filter_map(
            |&(name, display, description, category, required, dangerous)| {
                Some(ScopeCatalogEntry {
                    provider: ProviderKind::Microsoft,
                    scope: Scope::parse(name).ok()?,
                    display_name: display.to_owned(),
                    description: description.to_owned(),
                    category,
                    is_required: required,
                    is_dangerous: dangerous,
                })
            },
        )
        .collect()
}

/// The catalogue's spelling of `name`, compared ignoring ASCII case.
pub(crate) fn canonical(name: &str) -> Option<&'static str> {
    CATALOGUE
        .iter()
        .find(|row| row.0.eq_ignore_ascii_case(name))
        .map(|row| row.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scopes::{default_scopes, implicit_scopes};

    #[test]
    fn the_catalogue_covers_the_issue_and_marks_what_tether_needs() {
        let entries = catalogue();
        assert_eq!(
            entries.len(),
            CATALOGUE.len(),
            "every row parses as a scope"
        );
        let required: Vec<_> = entries
            .iter()
            .filter(|e| e.is_required)
            .map(|e| e.scope.as_str())
            .collect();
        assert_eq!(required, ["openid", "offline_access", "User.Read"]);
        for needed in [
            "Calendars.ReadWrite",
            "Mail.Send",
            "Files.ReadWrite",
            "Sites.Read.All",
            "Team.ReadBasic.All",
        ] {
            assert!(
                entries.iter().any(|e| e.scope.as_str() == needed),
                "{needed}"
            );
        }
        assert!(
            entries
                .iter()
                .filter(|e| e.category == Admin)
                .all(|e| e.is_dangerous)
        );
        let catalogued = |s: &Scope| entries.iter().any(|e| &e.scope == s);
        assert!(default_scopes().iter().all(catalogued));
        assert!(implicit_scopes().iter().all(catalogued));
        for e in &entries {
            if e.is_required {
                assert!(default_scopes().contains(&e.scope), "{}", e.scope);
            }
        }
    }
}
