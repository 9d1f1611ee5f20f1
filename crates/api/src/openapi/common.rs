//! The answers every operation can give besides its own, added to the document in one place
//! because middleware and extractors give them, not the handlers: a malformed query, path or
//! body (400), missing credentials (401), a body too large or of the wrong
//! type (413, 415), rate limits (429), headers too large (431), unexpected failures (500).
//! An operation that documents one of these statuses itself keeps its own description.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// The shared answers: (status, component name, description).
const ANSWERS: [(&str, &str, &str); 7] = [
    (
        "400",
        "BadRequest",
        "The request is not valid (`invalid_request`, or a more precise code): a malformed \
         query, path or body; or `X-Tether-User` sent with a user JWT or not a valid user id.",
    ),
    (
        "401",
        "Unauthorized",
        "No valid credentials (`unauthorized`): send `Authorization: Bearer <user JWT or API \
         key>`.",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is larger than the limit (`payload_too_large`).",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body is not `application/json` (`unsupported_media_type`).",
    ),
    (
        "429",
        "RateLimited",
        "Too many requests (`rate_limited`) from this caller, or too many failed \
         authentications from this address: retry after `Retry-After` seconds.",
    ),
    (
        "431",
        "HeadersTooLarge",
        "The request headers are too large (`headers_too_large`).",
    ),
    (
        "500",
        "InternalError",
        "An unexpected failure, logged on the server (`internal_error`), or a stored secret \
         that cannot be decrypted (`stored_secret_unreadable`).",
    ),
];

fn answer(status: &str, description: &str) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    );
    if status == "429" {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(SchemaType::new(Type::Integer))
                        .minimum(Some(1)),
                ))
                .description(Some("Seconds to wait before retrying."))
                .build(),
        );
    }
    response.build()
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// Which of the shared answers an operation can give.
fn applies(status: &str, path: &str, operation: &Operation) -> bool {
    let api = path.starts_with("/api/v1/");
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let json_body = operation
        .request_body
        .as_ref()
        .is_some_and(|b| matches!(b, RefOr::T(b) if b.content.contains_key("application/json")));
    let has_input = operation.parameters.as_ref().is_some_and(|p| !p.is_empty())
        || operation.request_body.is_some();
    match status {
        "400" => has_input || secured,
        "401" => secured,
        "413" | "415" => json_body,
        "429" | "500" => api,
        _ => true,
    }
}

/// Adds the shared answers to every operation of `openapi` they apply to.
pub(crate) fn add_common_answers(openapi: &mut OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    for (status, name, description) in ANSWERS {
        components
            .responses
            .insert(name.to_owned(), RefOr::T(answer(status, description)));
    }
    for (path, item) in openapi.paths.paths.iter_mut() {
        for operation in operations(item) {
            for (status, name, _) in ANSWERS {
                if applies(status, path, operation) {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                }
            }
        }
    }
}
