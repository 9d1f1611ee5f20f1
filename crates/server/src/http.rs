//! The HTTP server: actix-web with per-request tracing spans, the routes, and a graceful
//! shutdown on SIGTERM or Ctrl-C.

mod health;
mod request_span;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use sea_orm::DatabaseConnection;
use tether_storage::TokenCipher;
use tracing_actix_web::TracingLogger;

/// Starts serving on an already-bound listener; the returned server runs when awaited.
pub fn serve(
    listener: TcpListener,
    conn: DatabaseConnection,
    cipher: TokenCipher,
) -> std::io::Result<Server> {
    let conn = web::Data::new(conn);
    let cipher = web::Data::new(cipher);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(TracingLogger::<request_span::RequestSpan>::new())
            .app_data(conn.clone())
            .app_data(cipher.clone())
            .configure(health::routes)
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
