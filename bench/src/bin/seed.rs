//! `tether-bench-seed URL KEY COUNT IDS_FILE`: writes COUNT active integrations with valid,
//! far-future access tokens and one service API key into a migrated database (through the
//! storage API, so tokens are encrypted exactly as tether stores them); writes the
//! integration ids to IDS_FILE, one per line, and prints the API key on stdout.
//!
//! `tether-bench-seed --due URL KEY COUNT [CONNECTIONS]`: writes COUNT Google integrations
//! due for refresh now, with refresh tokens `bench-rt-{n}.0` (the scheduler benchmark),
//! CONNECTIONS (default 16) at a time, and reports the rate on stderr.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use tether_bench::Failure;
use tether_bench::seed::{Shape, open, seed_all};
use tether_core::api_key::ApiKeyRole;

const USAGE: &str = "usage: tether-bench-seed DATABASE_URL ENCRYPTION_KEY COUNT IDS_FILE\n   \
     or: tether-bench-seed --due DATABASE_URL ENCRYPTION_KEY COUNT [CONNECTIONS]";

enum Mode {
    Valid { ids_file: String },
    Due { connections: u32 },
}

struct Args {
    url: String,
    key: String,
    count: usize,
    mode: Mode,
}

fn args() -> Result<Args, Failure> {
    let mut args = std::env::args().skip(1).peekable();
    let due = args.next_if(|a| a == "--due").is_some();
    let mut next = |name: &str| args.next().ok_or(format!("missing argument {name}"));
    let (url, key, count) = (next("URL")?, next("KEY")?, next("COUNT")?.parse()?);
    let mode = if due {
        let connections = match args.next() {
            Some(n) => n.parse()?,
            None => 16,
        };
        Mode::Due { connections }
    } else {
        Mode::Valid {
            ids_file: args.next().ok_or("missing argument IDS_FILE")?,
        }
    };
    Ok(Args {
        url,
        key,
        count,
        mode,
    })
}

async fn run(args: Args) -> Result<(), Failure> {
    match args.mode {
        Mode::Valid { ids_file } => {
            let store = open(&args.url, args.key, 8).await?;
            let ids = seed_all(store.clone(), Shape::Valid, args.count, 8).await?;
            let lines: Vec<String> = ids.iter().map(ToString::to_string).collect();
            std::fs::write(&ids_file, lines.join("\n") + "\n")?;
            let (_, secret) =
                tether_api::auth::create_key(store.as_ref(), "bench", ApiKeyRole::Service).await?;
            writeln!(std::io::stdout(), "{}", secret.expose_secret())?;
        }
        Mode::Due { connections } => {
            let store = open(&args.url, args.key, connections).await?;
            let started = Instant::now();
            let ids = seed_all(store, Shape::Due, args.count, connections as usize).await?;
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "seeded {} due integrations in {secs:.1} s ({:.0}/s, {connections} connections)",
                ids.len(),
                ids.len() as f64 / secs.max(0.001)
            );
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match args() {
        Ok(args) => run(args).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("{USAGE}");
            ExitCode::FAILURE
        }
    }
}
