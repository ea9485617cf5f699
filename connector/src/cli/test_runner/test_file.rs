//! The test file format: a config reference, an optional clock, and cases of input messages with expected egress,
//! a snapshot of it, or both.

use std::path::{Path, PathBuf};

use anyhow::Context;
use schemars::JsonSchema;
use serde::Deserialize;

use super::matcher::substitute;
use crate::config::{Config, teach_unknown_name};

/// A parsed test file.
// `JsonSchema` (here and on `TestCase`): `connector schema test` is derived from these types (see `cli/schema.rs`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// A config path relative to the test file, or an inline config.
    #[schemars(schema_with = "crate::cli::schema::test_file_config")]
    pub config: serde_json::Value,
    /// The fixed ledger clock (RFC 3339).
    #[serde(default = "default_clock")]
    pub clock: String,
    pub cases: Vec<TestCase>,
}

fn default_clock() -> String {
    "2026-01-01T00:00:00Z".to_owned()
}

/// One case.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub name: String,
    /// Messages as mappings, or `{ raw: "…" }` for a body sent verbatim (malformed input).
    #[schemars(schema_with = "crate::cli::schema::test_inputs")]
    pub input: Vec<serde_json::Value>,
    /// Expected egress, in order; objects match when every key given matches (all keys with `exact: true`).
    /// Optional only for a snapshot case.
    #[serde(default)]
    pub expect: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub exact: bool,
    /// Record the whole egress in the case's snapshot file and compare with it (see `snapshot/`).
    #[serde(default)]
    pub snapshot: bool,
}

impl TestFile {
    /// Reads a test file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read test file {}", path.display()))?;
        let tree: serde_json::Value = serde_saphyr::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not valid YAML: {e}", path.display()))?;
        let file: Self = serde_path_to_error::deserialize(tree).map_err(|e| {
            let message = teach_unknown_name(&e.inner().to_string());
            anyhow::anyhow!("{}: {}: {message}", path.display(), e.path())
        })?;
        file.check_cases(path)?;
        Ok(file)
    }

    /// A case that checks nothing would always pass, so it is a mistake in the file, not a passing test.
    fn check_cases(&self, path: &Path) -> anyhow::Result<()> {
        for (i, case) in self.cases.iter().enumerate() {
            if case.expect.is_none() && !case.snapshot {
                anyhow::bail!(
                    "{}: cases[{i}] {:?}: expected `expect:`, `snapshot: true`, or both (the case checks nothing)",
                    path.display(),
                    case.name
                );
            }
            if case.exact && case.expect.is_none() {
                anyhow::bail!(
                    "{}: cases[{i}] {:?}: `exact: true` applies to `expect:`, which the case does not have \
                     (a snapshot is always compared whole)",
                    path.display(),
                    case.name
                );
            }
        }
        Ok(())
    }

    /// The config the file names (the environment is ignored so tests are hermetic).
    pub fn config(&self, file: &Path) -> anyhow::Result<Config> {
        match &self.config {
            serde_json::Value::String(relative) => {
                let base = file
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("."));
                let path = base.join(relative);
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!("{}: config: cannot read {}", file.display(), path.display())
                })?;
                Config::from_yaml_with_env(&text, std::iter::empty())
                    .with_context(|| format!("{}: config {}", file.display(), path.display()))
            }
            inline @ serde_json::Value::Object(_) => {
                // JSON is YAML, so the inline config goes through the same loader as a file.
                Config::from_yaml_with_env(&inline.to_string(), std::iter::empty())
                    .with_context(|| format!("{}: inline config", file.display()))
            }
            other => anyhow::bail!(
                "{}: config: expected a path or a mapping, found {other}",
                file.display()
            ),
        }
    }
}

impl TestCase {
    /// The input bodies, placeholders substituted.
    pub fn input_bodies(&self) -> Result<Vec<Vec<u8>>, String> {
        self.input
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                serde_json::Value::Object(map) if map.len() == 1 && map.contains_key("raw") => {
                    match map.get("raw") {
                        Some(serde_json::Value::String(raw)) => Ok(substitute(raw).into_bytes()),
                        _ => Err(format!("input[{i}].raw: expected a string")),
                    }
                }
                serde_json::Value::Object(_) => Ok(substitute_tree(item).to_string().into_bytes()),
                other => Err(format!(
                    "input[{i}]: expected a message mapping or {{ raw: \"…\" }}, found {other}"
                )),
            })
            .collect()
    }
}

fn substitute_tree(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::String(s) => serde_json::Value::String(substitute(s)),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(substitute_tree).collect())
        }
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute_tree(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}
