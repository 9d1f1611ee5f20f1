//! What each Microsoft scope means: sign-in scopes and the delegated Microsoft Graph
//! permissions Tether offers (PROVIDERS.md §3.8).

use tether_core::provider::ProviderKind;
use tether_core::scope_catalog::{ScopeCatalogEntry, ScopeCategory};
use tether_provider_common::{ScopeSpec, catalogue as entries};

use ScopeCategory::{Admin, Read, Write};

/// Admin-consent flags follow PROVIDERS.md §3.8 (category `admin` = an organisation's
/// administrator must consent); tenant admins can make any scope admin-only.
#[rustfmt::skip]
pub(crate) const CATALOGUE: &[ScopeSpec] = &[
    ScopeSpec { scope: "openid", display_name: "Sign in", description: "Sign you in and identify your account (ID token).", category: Read, is_required: true, is_dangerous: false },
    ScopeSpec { scope: "profile", display_name: "Basic profile", description: "Your name and basic profile in the ID token.", category: Read, is_required: false, is_dangerous: false },
    ScopeSpec { scope: "email", display_name: "E-mail address", description: "Your e-mail address in the ID token.", category: Read, is_required: false, is_dangerous: false },
    ScopeSpec { scope: "offline_access", display_name: "Stay connected", description: "Keep access when you are not signed in (refresh tokens).", category: Read, is_required: true, is_dangerous: false },
    ScopeSpec { scope: "User.Read", display_name: "Your profile", description: "Read your Microsoft profile (/me).", category: Read, is_required: true, is_dangerous: false },
    ScopeSpec { scope: "Calendars.Read", display_name: "Read calendars", description: "Read your Outlook calendars and events.", category: Read, is_required: false, is_dangerous: false },
    ScopeSpec { scope: "Calendars.ReadWrite", display_name: "Manage calendars", description: "Create, change and delete events in your Outlook calendars.", category: Write, is_required: false, is_dangerous: false },
    ScopeSpec { scope: "Calendars.Read.Shared", display_name: "Read shared calendars", description: "Read calendars you can access, including shared and delegated ones (work or school accounts).", category: Read, is_required: false, is_dangerous: false },
    ScopeSpec { scope: "Calendars.ReadWrite.Shared", display_name: "Manage shared calendars", description: "Change events in calendars you can access, including shared and delegated ones (work or school accounts).", category: Write, is_required: false, is_dangerous: false },
    ScopeSpec { scope: "Mail.Read", display_name: "Read mail", description: "Read the mail in your mailbox.", category: Read, is_required: false, is_dangerous: false },
    ScopeSpec { scope: "Mail.ReadWrite", display_name: "Manage mail", description: "Read, change and delete the mail in your mailbox (not send).", category: Write, is_required: false, is_dangerous: true },
    ScopeSpec { scope: "Mail.Send", display_name: "Send mail", description: "Send mail as you.", category: Write, is_required: false, is_dangerous: true },
    ScopeSpec { scope: "Files.Read", display_name: "Read your files", description: "Read your OneDrive files.", category: Read, is_required: false, is_dangerous: false },
    ScopeSpec { scope: "Files.ReadWrite", display_name: "Manage your files", description: "Create, change and delete your OneDrive files.", category: Write, is_required: false, is_dangerous: false },
    ScopeSpec { scope: "Files.Read.All", display_name: "Read all your files", description: "Read every file you can access, including files shared with you.", category: Read, is_required: false, is_dangerous: false },
    ScopeSpec { scope: "Files.ReadWrite.All", display_name: "Manage all your files", description: "Change and delete every file you can access, including files shared with you.", category: Write, is_required: false, is_dangerous: true },
    ScopeSpec { scope: "Sites.Read.All", display_name: "Read SharePoint sites", description: "Read items in all SharePoint site collections you can access (work or school accounts).", category: Read, is_required: false, is_dangerous: false },
    ScopeSpec { scope: "Sites.ReadWrite.All", display_name: "Edit SharePoint sites", description: "Create, change and delete items in all SharePoint site collections you can access (work or school accounts).", category: Write, is_required: false, is_dangerous: true },
    ScopeSpec { scope: "Sites.FullControl.All", display_name: "Control SharePoint sites", description: "Full control of all SharePoint site collections; needs an administrator's consent.", category: Admin, is_required: false, is_dangerous: true },
    ScopeSpec { scope: "Team.ReadBasic.All", display_name: "List your teams", description: "Read the names and descriptions of the Teams you belong to (work or school accounts).", category: Read, is_required: false, is_dangerous: false },
    ScopeSpec { scope: "Channel.ReadBasic.All", display_name: "List channels", description: "Read the names and descriptions of Teams channels (work or school accounts).", category: Read, is_required: false, is_dangerous: false },
    ScopeSpec { scope: "ChannelMessage.Send", display_name: "Post to channels", description: "Post messages in Teams channels as you (work or school accounts).", category: Write, is_required: false, is_dangerous: true },
    ScopeSpec { scope: "ChannelMessage.Read.All", display_name: "Read channel messages", description: "Read the messages of Teams channels; needs an administrator's consent.", category: Admin, is_required: false, is_dangerous: true },
];

pub(crate) fn catalogue() -> Vec<ScopeCatalogEntry> {
    entries(ProviderKind::Microsoft, CATALOGUE)
}

/// The catalogue's spelling of `name`, compared ignoring ASCII case.
pub(crate) fn canonical(name: &str) -> Option<&'static str> {
    CATALOGUE
        .iter()
        .find(|row| row.scope.eq_ignore_ascii_case(name))
        .map(|row| row.scope)
}

#[cfg(test)]
mod tests {
    use tether_core::Scope;

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
