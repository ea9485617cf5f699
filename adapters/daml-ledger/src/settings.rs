//! `ledger.daml`: where the participant is, which Ledger API user the gateway is, and how it proves that —
//! validated with errors that name the config path (`ledger.daml.url: expected http://… or https://…`).
//!
//! The settings hold only the *path* of the token file, never its contents, so deriving `Debug` is safe.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Where these settings sit in the connector's config; every error path starts with it.
pub const CONFIG_PATH: &str = "ledger.daml";

/// Longest accepted `call_timeout_ms`: an hour. A longer deadline would hide a hung participant.
const MAX_CALL_TIMEOUT_MS: u64 = 3_600_000;

fn default_call_timeout_ms() -> u64 {
    30_000
}

/// How to reach a Daml participant's Ledger API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DamlSettings {
    /// `http://host:port` (plaintext) or `https://host:port` (TLS), e.g. `http://127.0.0.1:6865`.
    pub url: String,
    /// The Ledger API user the gateway submits as (`Commands.user_id`); its rights decide which parties it may
    /// act and read as.
    pub user_id: String,
    /// A file holding the access token (a JWT). Re-read when it changes, so tokens rotate without a restart.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// TLS options; an `https://` URL without them trusts the platform's root certificates.
    #[serde(default)]
    pub tls: Option<TlsSettings>,
    /// Deadline of every unary call (and of opening a stream), in milliseconds.
    #[serde(default = "default_call_timeout_ms")]
    pub call_timeout_ms: u64,
    /// Extra parties to read as: added to every read filter and to `Commands.read_as`.
    #[serde(default)]
    pub read_as: Vec<String>,
}

/// TLS towards the participant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM CA certificate(s) to trust instead of the platform's roots (the usual case for a private participant).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for a participant that requires mutual TLS; needs `key_file`.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// Why the Daml settings (or a file they name) were refused. `path` is the config path, e.g. `ledger.daml.url`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SettingsError {
    pub path: String,
    pub message: String,
}

impl SettingsError {
    /// An error at `ledger.daml.<field>`.
    pub fn at(field: &str, message: impl Into<String>) -> Self {
        Self {
            path: format!("{CONFIG_PATH}.{field}"),
            message: message.into(),
        }
    }
}

impl DamlSettings {
    /// Settings for `url` and `user_id` with every option at its default.
    pub fn new(url: impl Into<String>, user_id: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            user_id: user_id.into(),
            token_file: None,
            tls: None,
            call_timeout_ms: default_call_timeout_ms(),
            read_as: Vec::new(),
        }
    }

    /// Checks everything that can be checked without touching files or the network.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let scheme = url_scheme(&self.url).ok_or_else(|| {
            SettingsError::at(
                "url",
                format!(
                    "expected http://… or https://… with a host (e.g. http://127.0.0.1:6865), got {:?}",
                    self.url
                ),
            )
        })?;
        if self.user_id.trim().is_empty() {
            return Err(SettingsError::at(
                "user_id",
                "expected the Ledger API user id the gateway submits as",
            ));
        }
        if let Some(path) = &self.token_file
            && path.as_os_str().is_empty()
        {
            return Err(SettingsError::at(
                "token_file",
                "expected the path of a file holding the access token",
            ));
        }
        if self.call_timeout_ms == 0 || self.call_timeout_ms > MAX_CALL_TIMEOUT_MS {
            return Err(SettingsError::at(
                "call_timeout_ms",
                format!(
                    "expected milliseconds from 1 to {MAX_CALL_TIMEOUT_MS}, got {}",
                    self.call_timeout_ms
                ),
            ));
        }
        if let Some(i) = self.read_as.iter().position(|p| p.trim().is_empty()) {
            return Err(SettingsError::at(
                &format!("read_as[{i}]"),
                "expected a non-empty party identifier",
            ));
        }
        if let Some(tls) = &self.tls {
            if scheme != Scheme::Https {
                return Err(SettingsError::at(
                    "tls",
                    format!(
                        "TLS options need an https:// url, but ledger.daml.url is {:?}",
                        self.url
                    ),
                ));
            }
            match (&tls.cert_file, &tls.key_file) {
                (Some(_), None) => {
                    return Err(SettingsError::at(
                        "tls.key_file",
                        "expected the client certificate's private key file (tls.cert_file is set)",
                    ));
                }
                (None, Some(_)) => {
                    return Err(SettingsError::at(
                        "tls.cert_file",
                        "expected the client certificate file (tls.key_file is set)",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The deadline of one call.
    pub fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.call_timeout_ms)
    }

    /// Whether the connection uses TLS (an `https://` URL).
    pub fn uses_tls(&self) -> bool {
        url_scheme(&self.url) == Some(Scheme::Https)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

/// The scheme of a URL that also names a host; `None` for anything else.
fn url_scheme(url: &str) -> Option<Scheme> {
    let uri: tonic::transport::Uri = url.parse().ok()?;
    let scheme = match uri.scheme_str()? {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        _ => return None,
    };
    let host = uri.host()?;
    (!host.is_empty()).then_some(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml_as_json: serde_json::Value) -> Result<DamlSettings, String> {
        serde_json::from_value::<DamlSettings>(yaml_as_json).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_all_keys() {
        let minimal =
            parse(serde_json::json!({"url": "http://127.0.0.1:6865", "user_id": "gateway"}))
                .expect("minimal settings");
        assert_eq!(minimal.call_timeout_ms, 30_000);
        assert_eq!(minimal.call_timeout(), Duration::from_secs(30));
        assert!(
            minimal.token_file.is_none() && minimal.tls.is_none() && minimal.read_as.is_empty()
        );
        assert!(!minimal.uses_tls());
        minimal.validate().expect("valid");

        let full = parse(serde_json::json!({
            "url": "https://participant.example.com:443",
            "user_id": "gateway",
            "token_file": "/run/secrets/ledger.jwt",
            "tls": {"ca_file": "/etc/ca.pem", "cert_file": "/etc/client.pem", "key_file": "/etc/client.key"},
            "call_timeout_ms": 5000,
            "read_as": ["Auditor::1220"]
        }))
        .expect("full settings");
        assert!(full.uses_tls());
        full.validate().expect("valid");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = parse(serde_json::json!({"url": "http://h:1", "user_id": "u", "token": "secret"}))
            .expect_err("unknown key");
        assert!(e.contains("unknown field `token`"), "{e}");
        let e =
            parse(serde_json::json!({"url": "https://h:1", "user_id": "u", "tls": {"ca": "x"}}))
                .expect_err("unknown tls key");
        assert!(e.contains("unknown field `ca`"), "{e}");
        let e = parse(serde_json::json!({"url": "http://h:1"})).expect_err("missing user");
        assert!(e.contains("user_id"), "{e}");
    }

    fn refused(settings: &DamlSettings) -> String {
        settings.validate().expect_err("refused").to_string()
    }

    #[test]
    fn validation_names_the_path_and_the_expected_form() {
        for url in [
            "",
            "127.0.0.1:6865",
            "ftp://h:1",
            "http://",
            "grpc://h:1",
            "http:///x",
        ] {
            let e = refused(&DamlSettings::new(url, "u"));
            assert!(
                e.starts_with("ledger.daml.url: expected http://… or https://…"),
                "{url:?}: {e}"
            );
        }
        let e = refused(&DamlSettings::new("http://h:1", " "));
        assert!(e.starts_with("ledger.daml.user_id: "), "{e}");

        let mut s = DamlSettings::new("http://h:1", "u");
        s.call_timeout_ms = 0;
        assert!(refused(&s).starts_with("ledger.daml.call_timeout_ms: expected milliseconds"));

        let mut s = DamlSettings::new("http://h:1", "u");
        s.read_as = vec!["Auditor".into(), "".into()];
        assert!(refused(&s).starts_with("ledger.daml.read_as[1]: "));

        let mut s = DamlSettings::new("http://h:1", "u");
        s.token_file = Some(PathBuf::new());
        assert!(refused(&s).starts_with("ledger.daml.token_file: "));

        let mut s = DamlSettings::new("http://h:1", "u");
        s.tls = Some(TlsSettings::default());
        assert!(refused(&s).starts_with("ledger.daml.tls: TLS options need an https:// url"));

        let mut s = DamlSettings::new("https://h:1", "u");
        s.tls = Some(TlsSettings {
            cert_file: Some("/c.pem".into()),
            ..TlsSettings::default()
        });
        assert!(refused(&s).starts_with("ledger.daml.tls.key_file: "));
        s.tls = Some(TlsSettings {
            key_file: Some("/c.key".into()),
            ..TlsSettings::default()
        });
        assert!(refused(&s).starts_with("ledger.daml.tls.cert_file: "));
    }
}
