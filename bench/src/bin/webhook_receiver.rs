//! `tether-bench-webhook-receiver PORT SECRET [half|none]`: the loopback webhook receiver of
//! the events benchmark (`bench/events.sh`) on http://127.0.0.1:PORT/hooks: checks signatures
//! with the endpoint's `whsec_` SECRET, fails the first attempt of about half the events
//! (`half`, the default) or of none, and reports delivery counts and delays at `GET /stats`.

use std::process::ExitCode;

use tether_core::secret::WebhookSecret;

#[actix_web::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let port = args.next().and_then(|p| p.parse().ok());
    let secret = args.next();
    let fail_first = match args.next().as_deref() {
        None | Some("half") => Some(true),
        Some("none") => Some(false),
        Some(_) => None,
    };
    let (Some(port), Some(secret), Some(fail_first)) = (port, secret, fail_first) else {
        eprintln!("usage: tether-bench-webhook-receiver PORT SECRET [half|none]");
        return ExitCode::FAILURE;
    };
    eprintln!("bench webhook receiver on http://127.0.0.1:{port}/hooks");
    match tether_bench::webhook_receiver::serve(port, WebhookSecret::new(secret), fail_first).await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
