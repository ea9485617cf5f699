//! The command-line flags every benchmark binary of this package shares: which `connector` to run, which workflow
//! mapping it runs, and which broker it talks to.

use std::path::{Path, PathBuf};

use clap::Args;

/// `--connector`, `--mapping`, `--amqp-url`.
#[derive(Debug, Clone, Args)]
pub struct GatewayTarget {
    /// The `connector` binary (default: target/release/connector, else target/debug/connector).
    #[arg(long)]
    pub connector: Option<PathBuf>,

    /// The workflow mapping whose `workflows:` block the gateway runs.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/refrigerated-transportation/connector.yaml"))]
    pub mapping: PathBuf,

    /// The broker.
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    pub amqp_url: String,
}

impl GatewayTarget {
    /// The `connector` binary to run: `--connector`, else the release build, else the debug build, both in the
    /// workspace's target directory.
    pub fn connector_path(&self) -> PathBuf {
        connector_path(self.connector.as_deref())
    }
}

fn connector_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_owned();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    let release = target.join("release").join("connector");
    if release.is_file() {
        release
    } else {
        target.join("debug").join("connector")
    }
}
