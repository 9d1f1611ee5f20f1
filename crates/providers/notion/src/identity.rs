//! Who a Notion connection is: `workspace_id:bot_id` from the token answer (or, when the
//! answer lacks them, the connection's bot user), labelled with the workspace name.

use serde_json::{Map, Value, json};
use tether_core::provider::{AccountIdentity, ProviderError};

fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Whether the token answer names the account by itself.
pub(crate) fn answer_names_account(extra: &Map<String, Value>) -> bool {
    text(extra.get("workspace_id")).is_some() && text(extra.get("bot_id")).is_some()
}

/// The identity from the token answer's extra fields, filling gaps from `bot_user` (the
/// `/v1/users/me` answer) when given.
pub(crate) fn account(
    extra: &Map<String, Value>,
    bot_user: Option<&Value>,
) -> Result<AccountIdentity, ProviderError> {
    let bot = bot_user.and_then(|u| u.get("bot"));
    let workspace_id =
        text(extra.get("workspace_id")).or_else(|| text(bot.and_then(|b| b.get("workspace_id"))));
    let bot_id = text(extra.get("bot_id")).or_else(|| text(bot_user.and_then(|u| u.get("id"))));
    let (Some(workspace_id), Some(bot_id)) = (workspace_id, bot_id) else {
        return Err(ProviderError::Upstream {
            status: None,
            retry_after: None,
            message: "Notion did not name the workspace and bot of the connection".to_owned(),
        });
    };
    let workspace_name = text(extra.get("workspace_name"))
        .or_else(|| text(bot.and_then(|b| b.get("workspace_name"))));
    let owner = extra
        .get("owner")
        .or_else(|| bot.and_then(|b| b.get("owner")));
    let owner_type = text(owner.and_then(|o| o.get("type")));
    let owner_user = owner.and_then(|o| o.get("user"));
    let owner_name = text(owner_user.and_then(|u| u.get("name")));
    let owner_email = text(
        owner_user
            .and_then(|u| u.get("person"))
            .and_then(|p| p.get("email")),
    );
    Ok(AccountIdentity {
        subject: format!("{workspace_id}:{bot_id}"),
        label: workspace_name
            .or(owner_email)
            .or(owner_name)
            .map(str::to_owned),
        metadata: json!({
            "workspace_id": workspace_id,
            "workspace_name": workspace_name,
            "workspace_icon": text(extra.get("workspace_icon")),
            "bot_id": bot_id,
            "owner_type": owner_type,
            "owner_user_id": text(owner_user.and_then(|u| u.get("id"))),
            "owner_name": owner_name,
            "owner_email": owner_email,
            "duplicated_template_id": text(extra.get("duplicated_template_id")),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extra(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn the_token_answer_names_the_workspace_and_bot() {
        let fields = extra(json!({
            "bot_id": "b-1", "workspace_id": "w-1", "workspace_name": "Acme",
            "workspace_icon": "https://s3.example/icon.png",
            "owner": {"type": "user", "user": {"object": "user", "id": "u-1", "name": "Ada",
                      "type": "person", "person": {"email": "ada@acme.test"}}},
            "duplicated_template_id": null, "request_id": "r"
        }));
        assert!(answer_names_account(&fields));
        let identity = account(&fields, None).unwrap();
        assert_eq!(identity.subject, "w-1:b-1");
        assert_eq!(identity.label.as_deref(), Some("Acme"));
        let m = &identity.metadata;
        assert_eq!(m["workspace_icon"], "https://s3.example/icon.png");
        assert_eq!(m["owner_type"], "user");
        assert_eq!(m["owner_user_id"], "u-1");
        assert_eq!(m["owner_email"], "ada@acme.test");
        assert!(m["duplicated_template_id"].is_null());
    }

    #[test]
    fn a_workspace_owned_connection_without_a_name_falls_back_to_no_label() {
        let fields = extra(json!({
            "bot_id": "b-1", "workspace_id": "w-1", "workspace_name": null,
            "workspace_icon": null, "owner": {"type": "workspace", "workspace": true}
        }));
        let identity = account(&fields, None).unwrap();
        assert_eq!(identity.label, None);
        assert_eq!(identity.metadata["owner_type"], "workspace");
    }

    #[test]
    fn gaps_are_filled_from_the_bot_user_or_refused() {
        let fields = extra(json!({"workspace_id": "w-1"}));
        assert!(!answer_names_account(&fields));
        let bot_user = json!({"object": "user", "id": "b-9", "type": "bot",
                              "bot": {"owner": {"type": "workspace", "workspace": true},
                                      "workspace_name": "Acme"}});
        let identity = account(&fields, Some(&bot_user)).unwrap();
        assert_eq!(identity.subject, "w-1:b-9");
        assert_eq!(identity.label.as_deref(), Some("Acme"));
        assert!(account(&extra(json!({})), Some(&bot_user)).is_err());
    }
}
