//! One gateway end-to-end test's own world, and the macro that runs each such test on both ledgers.
//!
//! A `Harness` holds a test's queue and exchange names (its own, so tests never share broker state), its broker
//! client, its temporary directory and HTTP port, and the `connector sandbox` processes behind a gateway on a Daml
//! ledger. `on_every_ledger!` runs each test twice: on the embedded ledger (`embedded::…`) and on a Daml ledger
//! (`daml::…`: `ledger.daml` pointed at a `connector sandbox` process that holds the same embedded ledger, so
//! journals, faults and ledger ends are alike). Shared by the `tests/gateway_*.rs` files, one per guarantee.

use std::time::Duration;

use super::*;

pub const IN_MEMORY: &str = "  embedded: {}";

/// One test's names, broker client, directory, HTTP port and sandboxes.
pub struct Harness {
    pub kind: LedgerKind,
    pub names: Names,
    pub broker: Broker,
    pub dir: tempfile::TempDir,
    pub http_port: u16,
    /// The `connector sandbox` processes behind a Daml-ledger gateway; they outlive gateway restarts.
    pub sandboxes: std::sync::Mutex<Vec<Sandbox>>,
}

impl Harness {
    pub async fn new(test: &str, kind: LedgerKind) -> Self {
        let names = Names::new(&format!("{test}-{}", kind.name()));
        let broker = Broker::connect(&names).await;
        Self {
            kind,
            names,
            broker,
            dir: tempfile::tempdir().unwrap(),
            http_port: free_port(),
            sandboxes: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The gateway config on this harness's ledger; `ledger` is the embedded ledger's block (on Daml, the sandbox
    /// holds that ledger and the gateway reaches it over the Ledger API).
    pub fn config(&self, ledger: &str, extra: &str) -> std::path::PathBuf {
        let (path, sandbox) = config_on(
            self.kind,
            &self.names,
            self.dir.path(),
            self.http_port,
            ledger,
            extra,
        );
        if let Some(sandbox) = sandbox {
            self.sandboxes.lock().unwrap().push(sandbox);
        }
        path
    }

    /// Sets `http.admin_token_file` in `config` (written by `config`) to a file holding `token`.
    pub fn enable_admin_token(&self, config: &std::path::Path, token: &str) {
        let token_file = write(self.dir.path(), "admin.token", &format!("{token}\n"));
        let text = std::fs::read_to_string(config).unwrap();
        let plain = format!("http: {{ listen: 127.0.0.1:{} }}", self.http_port);
        assert!(text.contains(&plain), "the harness config changed shape");
        let text = text.replace(
            &plain,
            &format!(
                "http: {{ listen: 127.0.0.1:{}, admin_token_file: {} }}",
                self.http_port,
                token_file.display()
            ),
        );
        std::fs::write(config, text).unwrap();
    }

    /// An in-memory embedded config for the `connector process` oracle, whatever ledger the gateway runs on.
    pub fn oracle_config(&self) -> std::path::PathBuf {
        let dir = self.dir.path().join("oracle");
        std::fs::create_dir_all(&dir).unwrap();
        example_config(&self.names, &dir, AMQP_URL, 0, IN_MEMORY, "")
    }

    pub async fn start(&self, config: &std::path::Path) -> Gateway {
        let mut gw = Gateway::start(config, self.http_port);
        assert!(
            gw.wait_ready(Duration::from_secs(60)).await,
            "gateway not ready:\n{}",
            gw.log_text()
        );
        gw
    }
}

/// Each named test function (`async fn name(kind: LedgerKind)`), once per ledger: `embedded::<name>` and
/// `daml::<name>`.
// Every test binary compiles `support`, and only the gateway's end-to-end tests use the macro.
#[allow(unused_macros)]
macro_rules! on_every_ledger {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::LedgerKind::Embedded).await
                }
            )*
        }
        mod daml {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::LedgerKind::Daml).await
                }
            )*
        }
    };
}

#[allow(unused_imports)]
pub(crate) use on_every_ledger;
