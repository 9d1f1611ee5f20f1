//! `tether-bench-transitions DATABASE_URL ENCRYPTION_KEY INTEGRATIONS PER_INTEGRATION
//! [CONCURRENCY]`: the events benchmark's load: INTEGRATIONS integrations connected and then
//! flipped between degraded and active, PER_INTEGRATION transitions each (one event each),
//! CONCURRENCY integrations at a time (default 16), through the storage API. Prints
//! `TRANSITIONS count=… seconds=… per_s=…` on stdout.

use std::io::Write;
use std::process::ExitCode;

use tether_bench::Failure;
use tether_bench::seed::open;
use tether_bench::transitions::drive;

async fn run() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let mut next = |name: &str| args.next().ok_or(format!("missing argument {name}"));
    let url = next("DATABASE_URL")?;
    let key = next("ENCRYPTION_KEY")?;
    let integrations: usize = next("INTEGRATIONS")?.parse()?;
    let per_integration: usize = next("PER_INTEGRATION")?.parse()?;
    let concurrency: usize = match next("CONCURRENCY") {
        Ok(n) => n.parse()?,
        Err(_) => 16,
    };
    let store = open(&url, key, u32::try_from(concurrency)?.max(1)).await?;
    let driven = drive(store, integrations, per_integration, concurrency).await?;
    let seconds = driven.elapsed.as_secs_f64();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "TRANSITIONS count={} seconds={seconds:.1} per_s={:.0}",
        driven.transitions,
        driven.transitions as f64 / seconds.max(f64::EPSILON)
    )?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!(
                "usage: tether-bench-transitions DATABASE_URL ENCRYPTION_KEY INTEGRATIONS PER_INTEGRATION [CONCURRENCY]"
            );
            ExitCode::FAILURE
        }
    }
}
