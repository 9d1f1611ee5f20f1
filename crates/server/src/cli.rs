//! The command line: `tether serve`, `migrate`, `keys`, `api-keys`, `webhooks`, `dev-token`,
//! `openapi`, `check-config` and `openemr`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Tether: a self-hosted OAuth integration-auth service.
#[derive(Debug, Parser)]
#[command(name = "tether", version, about)]
pub struct Cli {
    /// Configuration file (default: ./tether.toml when it exists).
    #[arg(long, global = true, env = "TETHER_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve,
    /// Inspect and change the database schema.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Manage the encryption keys that protect stored tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Load and validate the configuration, then print it with secrets redacted.
    CheckConfig,
    /// OpenEMR sites: register Tether as a client.
    #[command(subcommand)]
    Openemr(OpenemrCommand),
    /// Service and admin API keys.
    #[command(subcommand)]
    ApiKeys(ApiKeysCommand),
    /// Webhook endpoints: where status-change events are delivered, signed.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Console accounts: who may sign in to /console.
    #[command(subcommand)]
    ConsoleUsers(ConsoleUsersCommand),
    /// Print a user JWT for trying the API (embedded development mode only).
    DevToken {
        /// The user id (`sub`) the token is for.
        #[arg(long, value_name = "ID")]
        user: String,
        /// How long the token is valid, in minutes.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=1440))]
        minutes: u64,
    },
    /// Write the OpenAPI document (docs/openapi.json), or check that it is current.
    Openapi {
        /// Where to write it.
        #[arg(long, default_value = "docs/openapi.json", value_name = "PATH")]
        output: PathBuf,
        /// Do not write: fail when the file differs from what the server serves.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Create a key and print it (once).
    Create {
        /// A name to recognise the key by (`calendar-sync`).
        #[arg(long)]
        name: String,
        /// `service` (tokens, proxy, SMS) or `admin` (provider configuration, audit, keys).
        #[arg(long)]
        role: String,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id.
    Revoke {
        /// The key's id (from `list`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConsoleUsersCommand {
    /// Create an account. The password is read from standard input with `--password-stdin`,
    /// else a strong one is generated and printed once.
    Create {
        /// 1-64 characters: a-z, digits, '.', '_', '-'.
        #[arg(long)]
        username: String,
        /// `admin` (everything) or `staff` (only the granted provider instances).
        #[arg(long)]
        role: String,
        /// A provider instance a staff account may use (`openemr:clinic-a`); repeatable.
        #[arg(long = "grant", value_name = "PROVIDER[:INSTANCE]")]
        grants: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts (never passwords).
    List,
    /// Disable an account: it cannot sign in, and its sessions end.
    Disable { username: String },
    /// Set a new password (from standard input with `--password-stdin`, else generated and
    /// printed once); the account's sessions end.
    ResetPassword {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List endpoints (never their secrets).
    List,
    /// Create an endpoint and print its signing secret (once).
    Create {
        /// Where events are POSTed: an https:// URL on a public address.
        #[arg(long, value_name = "URL")]
        url: String,
        /// What receives these events, for people.
        #[arg(long, default_value = "")]
        description: String,
        /// Only these event types, comma-separated (default: every type).
        #[arg(long, value_name = "TYPES", value_delimiter = ',')]
        event_types: Vec<String>,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// Change an endpoint; options not given stay as they are.
    Update {
        /// The endpoint's id (from `list`).
        id: String,
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Only these event types, comma-separated.
        #[arg(
            long,
            value_name = "TYPES",
            value_delimiter = ',',
            conflicts_with = "all_events"
        )]
        event_types: Option<Vec<String>>,
        /// Receive every event type again.
        #[arg(long)]
        all_events: bool,
        /// Enable it (also after it was disabled automatically).
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Disable it: no events are queued for it until it is enabled again.
        #[arg(long)]
        disable: bool,
    },
    /// Delete an endpoint and its deliveries.
    Delete { id: String },
    /// Make a new signing secret and print it (once); the old one keeps signing for
    /// `webhooks_secret_grace_hours`.
    RotateSecret { id: String },
    /// Send a signed test event now and print the answer; fails when it is not accepted.
    Test { id: String },
    /// List an endpoint's most recent deliveries.
    Deliveries {
        id: String,
        /// How many, newest first.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=500))]
        limit: u64,
    },
    /// Deliver an event again, or every event since a time.
    Redeliver {
        id: String,
        /// The event's id.
        #[arg(
            long,
            value_name = "EVENT_ID",
            required_unless_present = "since",
            conflicts_with = "since"
        )]
        event: Option<String>,
        /// Every kept event at or after this time (RFC 3339, e.g. 2026-12-01T08:00:00Z).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Apply every pending migration.
    Up,
    /// Roll back the most recent migration (or the last N).
    Down {
        /// How many migrations to roll back.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        steps: u32,
    },
    /// List every migration as applied or pending.
    Status,
    /// Drop every table and re-apply all migrations. Destroys all data.
    Fresh {
        /// Confirm that all data may be destroyed.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new Fernet key on stdout.
    Generate,
    /// Re-encrypt every stored secret with the newest configured key.
    Rotate {
        /// Rows re-encrypted per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
        batch_size: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum OpenemrCommand {
    /// Register Tether as a confidential client at an OpenEMR site (dynamic client
    /// registration) and print the client id, the client secret (once) and what the OpenEMR
    /// administrator must do next.
    Register {
        /// The site's address (`https://emr.clinic-a.example/`) or its FHIR base URL
        /// (`https://emr.clinic-a.example/apis/default/fhir`).
        #[arg(long, value_name = "URL")]
        site: String,
        /// Tether's callback for OpenEMR: `{public_url}/api/v1/oauth/openemr/callback`.
        #[arg(long, value_name = "URL")]
        redirect_uri: String,
        /// The client name OpenEMR shows to administrators and users.
        #[arg(long, value_name = "NAME", default_value = "Tether")]
        name: String,
        /// E-mail address of a person responsible for the client (repeatable).
        #[arg(long = "contact", value_name = "EMAIL")]
        contacts: Vec<String>,
        /// Resource scopes to register besides `openid fhirUser offline_access api:fhir`
        /// (default: `user/Patient.read`, or `.rs` on SMART v2 sites). Space-separated.
        #[arg(long, value_name = "SCOPE", num_args = 1.., value_delimiter = ' ')]
        scopes: Vec<String>,
        /// The OpenEMR site name, for multisite installs when `--site` does not name it.
        #[arg(long, value_name = "NAME")]
        site_name: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn webhooks_redeliver_needs_an_event_or_a_time_but_not_both() {
        assert!(Cli::try_parse_from(["tether", "webhooks", "redeliver", "id"]).is_err());
        assert!(
            Cli::try_parse_from([
                "tether",
                "webhooks",
                "redeliver",
                "id",
                "--event",
                "e",
                "--since",
                "t"
            ])
            .is_err()
        );
        let cli = Cli::try_parse_from([
            "tether",
            "webhooks",
            "create",
            "--url",
            "https://hooks.example.com/",
            "--event-types",
            "integration.revoked,integration.reauth_required",
        ])
        .unwrap();
        let Command::Webhooks(WebhooksCommand::Create { event_types, .. }) = cli.command else {
            panic!("not webhooks create");
        };
        assert_eq!(
            event_types,
            ["integration.revoked", "integration.reauth_required"]
        );
        assert!(
            Cli::try_parse_from([
                "tether",
                "webhooks",
                "update",
                "id",
                "--enable",
                "--disable"
            ])
            .is_err()
        );
    }

    #[test]
    fn migrate_down_rolls_back_one_step_unless_told_otherwise() {
        let cli = Cli::try_parse_from(["tether", "migrate", "down"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Migrate(MigrateCommand::Down { steps: 1 })
        ));
        assert!(Cli::try_parse_from(["tether", "migrate", "down", "--steps", "0"]).is_err());
    }

    #[test]
    fn openemr_register_takes_repeated_contacts_and_space_separated_scopes() {
        let cli = Cli::try_parse_from([
            "tether",
            "openemr",
            "register",
            "--site",
            "https://emr.example/",
            "--redirect-uri",
            "https://tether.example.com/api/v1/oauth/openemr/callback",
            "--contact",
            "a@example.org",
            "--contact",
            "b@example.org",
            "--scopes",
            "patient/Patient.read user/Observation.rs",
        ])
        .unwrap();
        let Command::Openemr(OpenemrCommand::Register {
            name,
            contacts,
            scopes,
            site_name,
            ..
        }) = cli.command
        else {
            panic!("not openemr register");
        };
        assert_eq!(name, "Tether");
        assert_eq!(contacts, ["a@example.org", "b@example.org"]);
        assert_eq!(scopes, ["patient/Patient.read", "user/Observation.rs"]);
        assert_eq!(site_name, None);
        assert!(Cli::try_parse_from(["tether", "openemr", "register", "--site", "x"]).is_err());
    }
}
