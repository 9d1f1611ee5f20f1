//! The HTTP server: the API application and the console (`/console`), with the embedded
//! sandbox under `/sandbox` in sandbox mode, per-request tracing spans, and a graceful
//! shutdown on SIGTERM or Ctrl-C.

mod request_span;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{HttpServer, web};
use tether_api::{ApiState, Limiters};
use tracing_actix_web::TracingLogger;

use crate::wiring::SandboxState;

/// Starts serving on an already-bound listener; the returned server runs when awaited.
pub fn serve(
    listener: TcpListener,
    state: web::Data<ApiState>,
    console: web::Data<tether_console::ConsoleState>,
    limiters: Arc<Limiters>,
    sandbox: Option<SandboxState>,
) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        let sandbox = sandbox.clone();
        let console = console.clone();
        tether_api::app(state.clone(), limiters.clone(), move |cfg| {
            tether_console::configure(cfg, console);
            tether_console::configure_connect(cfg);
            #[cfg(feature = "sandbox")]
            if let Some(sandbox) = sandbox {
                cfg.service(
                    web::scope("/sandbox").configure(|c| tether_sandbox::configure(c, sandbox)),
                );
            }
            #[cfg(not(feature = "sandbox"))]
            let _ = (cfg, sandbox);
        })
        .wrap(TracingLogger::<request_span::RequestSpan>::new())
    })
    .listen(listener)?
    .shutdown_signal(shutdown_signal())
    .run();
    Ok(server)
}

/// Resolves on SIGTERM (what container runtimes send) or Ctrl-C; actix then stops accepting
/// and lets in-flight requests finish.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
