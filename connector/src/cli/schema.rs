//! `connector schema config|test|messages`: the JSON Schemas of the config file and of `connector test` files (both
//! generated from the types that parse them, draft-07 for editors' YAML language servers), and the Workbench message
//! schemas (draft 2020-12) the parser is tested against.
//!
//! The generated ones are also committed at the repository root (`schemas/`), where the example files'
//! `# yaml-language-server: $schema=…` comments point; a test fails when they differ from what this prints.

use schemars::{Schema, SchemaGenerator, json_schema};

use super::test_runner::TestFile;
use crate::config::{Config, config_schema, draft07_generator, headed};

/// Which schema to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaKind {
    /// `connector.yaml`.
    Config,
    /// A `connector test` file.
    Test,
    /// The ingress and egress messages, by file name (`create-contract-request`, `update`, …).
    Messages,
}

/// The schema as a JSON value.
pub fn schema(kind: SchemaKind) -> anyhow::Result<serde_json::Value> {
    Ok(match kind {
        SchemaKind::Config => config_schema(),
        SchemaKind::Test => test_file_schema(),
        SchemaKind::Messages => message_schemas()?,
    })
}

/// The schema pretty-printed with a final newline: what the command prints and what `schemas/` holds.
pub fn schema_text(kind: SchemaKind) -> anyhow::Result<String> {
    Ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&schema(kind)?)?
    ))
}

/// The schema of a test file; its `config:` is a path or an inline config under the config schema.
pub fn test_file_schema() -> serde_json::Value {
    headed(
        draft07_generator().into_root_schema_for::<TestFile>(),
        "connector test file",
        "Cases for `connector test`: a config, a fixed clock, input messages and the egress expected (see the \
         README's \"Testing your mapping\").",
    )
}

/// A test file's `config:`: the path of a config file, relative to the test file, or a config written inline.
pub(crate) fn test_file_config(generator: &mut SchemaGenerator) -> Schema {
    let inline = generator.subschema_for::<Config>();
    json_schema!({
        "description": "The config: a path relative to this file, or a config written inline.",
        "anyOf": [
            { "type": "string", "minLength": 1 },
            inline
        ]
    })
}

/// A case's `input:`: messages as mappings (deliberately malformed ones included, so no message schema applies), or
/// `{ raw: "…" }` for a body sent verbatim.
pub(crate) fn test_inputs(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Ingress messages as mappings, or { raw: \"…\" } for a body sent verbatim.",
        "type": "array",
        "items": {
            "type": "object",
            "if": { "required": ["raw"], "maxProperties": 1 },
            "then": { "properties": { "raw": { "type": "string" } } }
        }
    })
}

/// The message schemas message-schema ships, ingress and egress apart, each under its file name.
fn message_schemas() -> anyhow::Result<serde_json::Value> {
    use message_schema::schemas::{
        ALL, CREATE_CONTRACT_ACTION_REQUEST, CREATE_CONTRACT_REQUEST, READ_CONTRACT_REQUEST,
    };
    let ingress_texts = [
        CREATE_CONTRACT_REQUEST,
        CREATE_CONTRACT_ACTION_REQUEST,
        READ_CONTRACT_REQUEST,
    ];
    let mut ingress = serde_json::Map::new();
    let mut egress = serde_json::Map::new();
    for (name, text) in ALL {
        let schema: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("message-schema's {name} schema is not JSON: {e}"))?;
        let group = if ingress_texts.contains(&text) {
            &mut ingress
        } else {
            &mut egress
        };
        group.insert(name.to_owned(), schema);
    }
    Ok(serde_json::json!({
        "$comment": "The Workbench message schemas (JSON Schema draft 2020-12) that connector's parser and egress are tested against; also in message-schema/schemas/.",
        "ingress": ingress,
        "egress": egress,
    }))
}
