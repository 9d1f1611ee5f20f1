//! `tether-bench-token-endpoint PORT [DELAY_MS]`: the rotating loopback token endpoint of the
//! refresh-scheduler benchmark (`bench/scheduler.sh`) on 127.0.0.1:PORT; a successful refresh
//! is answered after DELAY_MS (default 50).

use std::process::ExitCode;
use std::time::Duration;

use tether_bench::Failure;
use tether_bench::token_endpoint::{EndpointConfig, serve};

fn config() -> Result<EndpointConfig, Failure> {
    let mut args = std::env::args().skip(1);
    let port = args.next().ok_or("missing argument PORT")?.parse()?;
    let delay_ms = match args.next() {
        Some(ms) => ms.parse()?,
        None => 50,
    };
    Ok(EndpointConfig {
        port,
        delay: Duration::from_millis(delay_ms),
    })
}

#[actix_web::main]
async fn main() -> ExitCode {
    let config = match config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("usage: tether-bench-token-endpoint PORT [DELAY_MS]");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "bench token endpoint on http://127.0.0.1:{}/token, delay {} ms",
        config.port,
        config.delay.as_millis()
    );
    match serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
