//! `tether`: parse the command line, run it, and turn any failure into one `error: …` line on
//! stderr and a non-zero exit code.

use std::process::ExitCode;

use clap::Parser;
use tether_server::cli::Cli;

/// jemalloc instead of the system allocator: the token read allocates and frees many small
/// objects per request across threads, and the read cache holds many small ones.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error (a bug in tether): {info}");
    }));
    tether_server::startup::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&e),
    };
    match runtime.block_on(tether_server::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    let message = error.to_string().replace('\n', " ");
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
