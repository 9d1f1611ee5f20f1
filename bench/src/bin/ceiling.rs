//! `tether-bench-ceiling PORT BODY_FILE`: the token-read benchmark's ceiling — an actix-web
//! server that answers `GET /api/v1/integrations/{id}/token` with the bytes of BODY_FILE (a
//! real token-read answer captured from tether) and does nothing else: no authentication, no
//! database, no audit. What this machine's web framework serves on the same route shape with
//! the same body is the figure tether's throughput is reported against (`bench/token-read.sh`).

use std::process::ExitCode;

use actix_web::{App, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let port: Option<u16> = args.next().and_then(|p| p.parse().ok());
    let body = args.next().and_then(|path| std::fs::read(path).ok());
    let (Some(port), Some(body)) = (port, body) else {
        eprintln!("usage: tether-bench-ceiling PORT BODY_FILE");
        return ExitCode::FAILURE;
    };
    let body = web::Bytes::from(body);
    let server = HttpServer::new(move || {
        let body = body.clone();
        App::new().route(
            "/api/v1/integrations/{id}/token",
            web::get().to(move |_id: web::Path<String>| {
                let body = body.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(body)
                }
            }),
        )
    })
    .bind(("127.0.0.1", port));
    match server {
        Ok(server) => match server.run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1:{port}: {e}");
            ExitCode::FAILURE
        }
    }
}
