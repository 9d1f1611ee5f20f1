//! Which methods each documented path serves, from the OpenAPI document, so that a request
//! on a known path with another method answers 405 with `Allow` instead of 404.

use std::collections::HashMap;

use actix_web::HttpRequest;
use utoipa::openapi::OpenApi;

/// Path template (as in the document) → `Allow` value.
#[derive(Debug, Default)]
pub(crate) struct DocumentedMethods(HashMap<String, String>);

impl DocumentedMethods {
    pub(crate) fn from_spec(spec: &OpenApi) -> Self {
        let table = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("OPTIONS", item.options.is_some()),
                    ("HEAD", item.head.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("TRACE", item.trace.is_some()),
                ];
                let allow: Vec<&str> = methods
                    .into_iter()
                    .filter_map(|(name, served)| served.then_some(name))
                    .collect();
                (path.clone(), allow.join(", "))
            })
            .collect();
        Self(table)
    }

    /// The `Allow` value when the request's path is a documented one (its method is then
    /// not served: the router found no route for it).
    pub(crate) fn allowed(&self, req: &HttpRequest) -> Option<String> {
        let pattern = req.resource_map().match_pattern(req.path())?;
        self.0.get(&document_form(&pattern)).cloned()
    }
}

/// An actix pattern in the document's form: `{path:.*}` → `{path}`.
fn document_form(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut in_regex = false;
    for c in pattern.chars() {
        match c {
            ':' if open(&out) => in_regex = true,
            '}' => {
                in_regex = false;
                out.push(c);
            }
            _ if in_regex => {}
            _ => out.push(c),
        }
    }
    out
}

/// Whether `text` ends inside an unclosed `{…`.
fn open(text: &str) -> bool {
    text.rfind('{') > text.rfind('}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actix_patterns_read_as_document_paths() {
        assert_eq!(
            document_form("/api/v1/integrations/{id}/proxy/{path:.*}"),
            "/api/v1/integrations/{id}/proxy/{path}"
        );
        assert_eq!(
            document_form("/api/v1/integrations/{id}"),
            "/api/v1/integrations/{id}"
        );
        assert_eq!(document_form("/healthz"), "/healthz");
    }
}
