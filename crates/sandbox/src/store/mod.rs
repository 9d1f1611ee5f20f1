//! In-memory OAuth state: authorization codes, grants, access and refresh tokens (stored hashed).

mod codes;
mod snapshot;
mod tokens;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::crypto::{TokenHash, random_token};
use crate::scope::Scopes;

pub(crate) use codes::NewCode;
pub(crate) use tokens::{AccessInfo, AccessProblem, Revoked};

/// How long expired records are kept so late replays still get a precise answer.
const GRACE: Duration = Duration::from_secs(600);

type GrantId = u64;

/// Lifetimes applied when tokens are issued.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lifetimes {
    pub(crate) access: Duration,
    pub(crate) refresh: Option<Duration>,
}

/// Tokens handed to a client by one successful token request.
#[derive(Debug)]
pub(crate) struct Issued {
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
    pub(crate) expires_in: Duration,
    pub(crate) scopes: Scopes,
}

/// One authorization: what a user (or, for client credentials, a client) granted a client.
/// Every token descends from exactly one grant; revoking the grant revokes them all.
#[derive(Debug)]
struct Grant {
    client_id: String,
    username: Option<String>,
    scopes: Scopes,
    revoked: bool,
}

#[derive(Debug)]
struct AccessRecord {
    grant: GrantId,
    scopes: Scopes,
    expires_at: Instant,
    revoked: bool,
}

#[derive(Debug)]
struct RefreshRecord {
    grant: GrantId,
    expires_at: Option<Instant>,
    /// Set once the token has been exchanged (rotated); presenting it again is reuse.
    used: bool,
}

/// All sandbox OAuth state. Lives behind one mutex in [`crate::SandboxState`].
#[derive(Debug, Default)]
pub(crate) struct Store {
    codes: HashMap<TokenHash, codes::CodeRecord>,
    grants: HashMap<GrantId, Grant>,
    access: HashMap<TokenHash, AccessRecord>,
    refresh: HashMap<TokenHash, RefreshRecord>,
    next_grant: GrantId,
    pub(crate) refresh_reuse_detected: u64,
    pub(crate) code_reuse_detected: u64,
    /// For snapshots: this store's pairing of `Instant` and wall clock.
    clock: snapshot::Clock,
}

impl Store {
    fn new_grant(&mut self, client_id: &str, username: Option<String>, scopes: Scopes) -> GrantId {
        self.next_grant += 1;
        let grant = Grant {
            client_id: client_id.to_owned(),
            username,
            scopes,
            revoked: false,
        };
        self.grants.insert(self.next_grant, grant);
        self.next_grant
    }

    fn revoke_grant(&mut self, id: GrantId) {
        if let Some(grant) = self.grants.get_mut(&id) {
            grant.revoked = true;
        }
    }

    /// Issues an access token (and a refresh token when asked) under `grant`.
    fn issue(
        &mut self,
        grant: GrantId,
        scopes: Scopes,
        with_refresh: bool,
        life: Lifetimes,
    ) -> Issued {
        let now = Instant::now();
        self.prune(now);
        let access_token = random_token();
        self.access.insert(
            TokenHash::of(&access_token),
            AccessRecord {
                grant,
                scopes: scopes.clone(),
                expires_at: now + life.access,
                revoked: false,
            },
        );
        let refresh_token = with_refresh.then(|| {
            let token = random_token();
            let record = RefreshRecord {
                grant,
                expires_at: life.refresh.map(|ttl| now + ttl),
                used: false,
            };
            self.refresh.insert(TokenHash::of(&token), record);
            token
        });
        Issued {
            access_token,
            refresh_token,
            expires_in: life.access,
            scopes,
        }
    }

    /// Drops records nobody can use any more, so a long-running demo does not grow forever.
    fn prune(&mut self, now: Instant) {
        self.codes.retain(|_, c| c.expires_at + GRACE > now);
        self.access.retain(|_, a| a.expires_at + GRACE > now);
        let grants = &self.grants;
        self.refresh.retain(|_, r| {
            let live_grant = grants.get(&r.grant).is_some_and(|g| !g.revoked);
            live_grant && r.expires_at.is_none_or(|at| at + GRACE > now)
        });
    }
}
