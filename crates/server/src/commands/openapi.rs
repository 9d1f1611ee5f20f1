//! `tether openapi [--check]`: writes the OpenAPI document the server serves to
//! `docs/openapi.json`, or fails when the committed copy is stale.

use std::path::Path;

use super::print;
use crate::error::{ServerError, ServerResult};

/// The document as committed: pretty JSON with a trailing newline.
pub fn document() -> ServerResult<String> {
    let spec = tether_api::openapi();
    let mut text = spec
        .to_pretty_json()
        .map_err(|e| ServerError::Startup(format!("rendering the OpenAPI document: {e}")))?;
    text.push('\n');
    Ok(text)
}

pub fn run(output: &Path, check: bool) -> ServerResult<()> {
    let wanted = document()?;
    if check {
        let current = std::fs::read_to_string(output).unwrap_or_default();
        if current != wanted {
            return Err(ServerError::Usage(format!(
                "{} is stale: run `tether openapi` and commit the result",
                output.display()
            )));
        }
        return print([format!("{} is current", output.display())]);
    }
    std::fs::write(output, wanted)?;
    print([format!("wrote {}", output.display())])
}
