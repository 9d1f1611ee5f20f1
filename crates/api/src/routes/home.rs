//! `GET /`: a small page saying Tether runs, where to find the console and the docs, and —
//! when a connect flow sends the browser back here — how it ended.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::pages::escape;

#[derive(Debug, Deserialize, IntoParams)]
pub struct HomeQuery {
    /// The outcome of a connect flow that returned here.
    outcome: Option<String>,
    /// Its human message.
    message: Option<String>,
}

/// Home page.
#[utoipa::path(tag = "operations", params(HomeQuery), responses((status = 200, content_type = "text/html")))]
#[get("/")]
pub async fn home(query: web::Query<HomeQuery>) -> HttpResponse {
    let outcome = match (&query.outcome, &query.message) {
        (Some(outcome), Some(message)) => format!(
            "<p><strong>{}</strong>: {}</p>",
            escape(outcome),
            escape(message)
        ),
        _ => String::new(),
    };
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tether</title></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:3em auto\"><h1>Tether is running</h1>{outcome}\
         <p>The operator console: <a href=\"/console\">/console</a>.</p>\
         <p>The API and its documentation: <a href=\"/docs/\">/docs/</a>.</p></body></html>"
    ))
}
