//! The JSON Schema of `connector.yaml`, generated from the types that parse it (`connector schema config`), so that
//! editors validate and complete the file with the rules the loader applies and the two cannot drift apart.
//!
//! Draft-07, not 2020-12: the YAML language server behind VS Code's YAML extension (and most editors' YAML support)
//! validates with draft-07; the keywords a newer draft would add (`$defs`, `prefixItems`, `unevaluatedProperties`)
//! are not needed here. A few pieces of schema without a type of their own live here too.

use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator, json_schema};

use super::Config;

/// An IP address and a port, as `SocketAddr` parses them: dotted IPv4 or bracketed IPv6. Only the shape (a host name
/// such as `localhost:8080` is the usual mistake); the parser still refuses `999.0.0.1:80`.
pub const SOCKET_ADDRESS: &str =
    r"^([0-9]{1,3}(\.[0-9]{1,3}){3}|\[[0-9A-Fa-f:.]+(%[^\]]+)?\]):[0-9]{1,5}$";

/// The generator every schema of this crate uses: draft-07, definitions under `#/definitions`.
pub fn draft07_generator() -> SchemaGenerator {
    SchemaSettings::draft07().into_generator()
}

/// The schema of a whole config file.
pub fn config_schema() -> serde_json::Value {
    headed(
        draft07_generator().into_root_schema_for::<Config>(),
        "connector.yaml",
        "The connector gateway's configuration (see the README's \"Configuration\"). Every scalar can also be set \
         by an environment variable CONNECTOR_<PATH>; rules between keys that a schema cannot state are checked by \
         `connector check`.",
    )
}

/// A root schema with `$schema`, `title` and `description` first, where a reader of the file looks for them.
pub fn headed(schema: Schema, title: &str, description: &str) -> serde_json::Value {
    let body = match schema.to_value() {
        serde_json::Value::Object(body) => body,
        // `true` or `false`: nothing to put first.
        other => return other,
    };
    let mut out = serde_json::Map::new();
    if let Some(meta) = body.get("$schema") {
        out.insert("$schema".to_owned(), meta.clone());
    }
    out.insert("title".to_owned(), title.into());
    out.insert("description".to_owned(), description.into());
    for (key, value) in body {
        out.entry(key).or_insert(value);
    }
    serde_json::Value::Object(out)
}

/// `user_chain_identifier.parties_by_amqp_user`: broker user → the parties it may act as; at least one user, each
/// with at least one non-empty party (whether those parties are allowed is a rule between keys, for `check`).
pub fn party_bindings(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Broker user → the parties its messages may act and read as ({ dispatch: [Operator, Device01] }).",
        "type": ["object", "null"],
        "minProperties": 1,
        "propertyNames": { "pattern": "\\S" },
        "additionalProperties": {
            "type": "array",
            "minItems": 1,
            "items": { "type": "string", "pattern": "\\S" }
        }
    })
}
