//! `tether-bench-webhook-receiver PORT SECRET`: the loopback webhook receiver of the events
//! benchmark (`bench/events.sh`) on http://127.0.0.1:PORT/hooks: checks signatures with the
//! endpoint's `whsec_` SECRET, fails the first attempt of about half the events, and reports
//! delivery counts and delays at `GET /stats`.

use std::process::ExitCode;

use tether_core::secret::WebhookSecret;

#[actix_web::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(secret)) = (args.next().and_then(|p| p.parse().ok()), args.next()) else {
        eprintln!("usage: tether-bench-webhook-receiver PORT SECRET");
        return ExitCode::FAILURE;
    };
    eprintln!("bench webhook receiver on http://127.0.0.1:{port}/hooks");
    match tether_bench::webhook_receiver::serve(port, WebhookSecret::new(secret)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
