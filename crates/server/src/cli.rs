//! The command line: `tether serve`, `migrate`, `keys` and `check-config`.

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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
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
}
