//! `ledger.daml`: where the participant is, which Ledger API user the gateway is, and how it proves that —
//! validated with errors that name the config path (`ledger.daml.url: expected http://… or https://…`).
//!
//! The settings hold only the *path* of the token file, never its contents. The one secret they can hold is
//! userinfo in `url` (`https://user:password@host`), which validation refuses; `Debug` and every error show the URL
//! through [`url_without_userinfo`] all the same, so not even refused settings print it.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

/// Where these settings sit in the connector's config; every error path starts with it.
pub const CONFIG_PATH: &str = "ledger.daml";

/// Longest accepted `call_timeout_ms`: an hour. A longer deadline would hide a hung participant.
const MAX_CALL_TIMEOUT_MS: u64 = 3_600_000;

/// What `validate` accepts as a URL, for the config's JSON Schema: `http://` or `https://` in any case (the URI parser
/// lower-cases the scheme), a host, and no `@` after the scheme (any `@` is taken for userinfo and refused).
const URL_PATTERN: &str = "^[hH][tT][tT][pP][sS]?://[^@/?#:\\s][^@\\s]*$";

fn default_call_timeout_ms() -> u64 {
    30_000
}

/// How to reach a Daml participant's Ledger API.
///
/// `Debug` is written by hand and shows `url` without userinfo, so any derived `Debug` that holds these settings
/// (the connector's `Config`, for one) never prints a password put in the URL.
// `JsonSchema` (here and on `TlsSettings`): the gateway's config schema describes `ledger.daml` from these types; the
// attributes repeat what `validate` refuses where a schema can say it (the URL's scheme and userinfo, empty names, the
// deadline's range, a certificate without its key).
#[derive(Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DamlSettings {
    /// `http://host:port` (plaintext) or `https://host:port` (TLS), e.g. `http://127.0.0.1:6865`. No
    /// `user:password@` (gRPC does not send it as credentials; the token goes in `token_file`), and with a
    /// `token_file`, `http://` only to a loopback host.
    #[schemars(regex(pattern = URL_PATTERN))]
    pub url: String,
    /// The Ledger API user the gateway submits as (`Commands.user_id`); its rights decide which parties it may
    /// act and read as.
    #[schemars(regex(pattern = r"\S"))]
    pub user_id: String,
    /// A file holding the access token (a JWT). Re-read when it changes, so tokens rotate without a restart.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub token_file: Option<PathBuf>,
    /// TLS options; an `https://` URL without them trusts the platform's root certificates.
    #[serde(default)]
    pub tls: Option<TlsSettings>,
    /// Deadline of every unary call (and of opening a stream), in milliseconds.
    #[serde(default = "default_call_timeout_ms")]
    #[schemars(range(min = 1, max = MAX_CALL_TIMEOUT_MS))]
    pub call_timeout_ms: u64,
    /// Extra parties to read as: added to every read filter and to `Commands.read_as`.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"\S")))]
    pub read_as: Vec<String>,
}

/// TLS towards the participant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "DamlTlsSettings")]
#[schemars(extend("dependencies" = { "cert_file": ["key_file"], "key_file": ["cert_file"] }))]
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
        // Before the scheme check: a password holding `/` or `?` also breaks the URL's syntax, and the user should
        // hear about the credentials, not about a URL that is shown to them without its userinfo.
        if url_without_userinfo(&self.url) != self.url {
            return Err(SettingsError::at(
                "url",
                format!(
                    "expected no user:password@ in the URL, got {:?}: gRPC does not send URL userinfo as \
                     credentials (it would only travel in the HTTP/2 :authority header); put an access token in \
                     ledger.daml.token_file instead",
                    self.shown_url()
                ),
            ));
        }
        let scheme = url_scheme(&self.url).ok_or_else(|| {
            SettingsError::at(
                "url",
                format!(
                    "expected http://… or https://… with a host (e.g. http://127.0.0.1:6865), got {:?}",
                    self.shown_url()
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
        if self.token_file.is_some() && scheme == Scheme::Http && !is_loopback_url(&self.url) {
            return Err(SettingsError::at(
                "url",
                format!(
                    "refusing plaintext {:?} with ledger.daml.token_file set: the bearer token would cross the \
                     network in clear text; use https://… (with ledger.daml.tls.ca_file for a private CA) or run \
                     the gateway beside the participant (http:// is accepted to localhost, 127.0.0.0/8 and [::1])",
                    self.shown_url()
                ),
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
                        self.shown_url()
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

    /// The URL without userinfo, for logs, errors and `/status`.
    pub fn shown_url(&self) -> String {
        url_without_userinfo(&self.url)
    }
}

impl fmt::Debug for DamlSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured without `..`: a field added later fails to compile here until it is shown (or left out on
        // purpose), instead of silently missing from the output.
        let Self {
            url,
            user_id,
            token_file,
            tls,
            call_timeout_ms,
            read_as,
        } = self;
        f.debug_struct("DamlSettings")
            .field("url", &url_without_userinfo(url))
            .field("user_id", user_id)
            .field("token_file", token_file)
            .field("tls", tls)
            .field("call_timeout_ms", call_timeout_ms)
            .field("read_as", read_as)
            .finish()
    }
}

/// `url` without its userinfo (`user:password@`), for showing it: `https://u:p@host:443` → `https://host:443`.
/// Works on any text, valid URL or not, since refused values are shown too. A gRPC endpoint has no path, so the
/// last `@` anywhere after the scheme ends the userinfo: a password holding an unescaped `/`, `?` or `#` is still
/// cut off, at the price of also cutting a (meaningless) path that holds an `@`.
pub fn url_without_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + "://".len()),
        None => ("", url),
    };
    match rest.rsplit_once('@') {
        Some((_, host_onwards)) => format!("{scheme}{host_onwards}"),
        None => url.to_owned(),
    }
}

/// Whether the URL's host is a loopback address: `localhost`, `127.0.0.0/8` or `::1`. Names other than
/// `localhost` are not resolved: validation stays offline, and a name is no promise about where it resolves.
fn is_loopback_url(url: &str) -> bool {
    let Ok(uri) = url.parse::<tonic::transport::Uri>() else {
        return false;
    };
    let Some(host) = uri.host() else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return ip.is_loopback();
    }
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<Ipv6Addr>().ok())
        .is_some_and(|ip| ip.is_loopback())
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

    #[test]
    fn urls_are_shown_without_userinfo() {
        for (url, shown) in [
            (
                "https://participant.example.com:443",
                "https://participant.example.com:443",
            ),
            (
                "https://gw:Tr0ub4dor@participant.example.com:443",
                "https://participant.example.com:443",
            ),
            ("http://gw@127.0.0.1:6865", "http://127.0.0.1:6865"),
            ("http://gw:p@ss@host", "http://host"),
            ("http://gw:pa/ss?#@host:1", "http://host:1"),
            ("http://[::1]:6865", "http://[::1]:6865"),
            ("http://gw:secret@[::1]:6865", "http://[::1]:6865"),
            (
                "https://gw:secret@[2001:db8::7]:443",
                "https://[2001:db8::7]:443",
            ),
            ("127.0.0.1:6865", "127.0.0.1:6865"),
            ("gw:secret@127.0.0.1:6865", "127.0.0.1:6865"),
            ("", ""),
        ] {
            assert_eq!(url_without_userinfo(url), shown, "{url:?}");
        }
    }

    #[test]
    fn userinfo_in_the_url_is_refused_without_being_shown() {
        for url in [
            "https://gw:Tr0ub4dor@participant.example.com:443",
            "http://gw:Tr0ub4dor@127.0.0.1:6865",
            "http://gw:Tr0ub4dor/x@127.0.0.1:6865",
            "gw:Tr0ub4dor@127.0.0.1:6865",
        ] {
            let e = refused(&DamlSettings::new(url, "u"));
            assert!(
                e.starts_with("ledger.daml.url: expected no user:password@ in the URL"),
                "{url:?}: {e}"
            );
            assert!(e.contains("ledger.daml.token_file"), "{e}");
            assert!(!e.contains("Tr0ub4dor"), "{e}");
        }
    }

    #[test]
    fn debug_output_shows_the_url_without_userinfo() {
        let mut s = DamlSettings::new(
            "https://gw:Tr0ub4dor@participant.example.com:443",
            "gateway",
        );
        s.token_file = Some("/run/secrets/ledger.jwt".into());
        s.tls = Some(TlsSettings {
            ca_file: Some("/etc/ledger-ca.pem".into()),
            ..TlsSettings::default()
        });
        s.read_as = vec!["Auditor::1220".into()];
        for text in [format!("{s:?}"), format!("{s:#?}")] {
            assert!(!text.contains("Tr0ub4dor"), "{text}");
            for shown in [
                "https://participant.example.com:443",
                "gateway",
                "/run/secrets/ledger.jwt",
                "/etc/ledger-ca.pem",
                "30000",
                "Auditor::1220",
            ] {
                assert!(text.contains(shown), "{shown} missing from {text}");
            }
        }
    }

    #[test]
    fn a_token_over_plaintext_http_is_refused_unless_the_host_is_loopback() {
        let with_token = |url: &str| {
            let mut s = DamlSettings::new(url, "gateway");
            s.token_file = Some("/run/secrets/ledger.jwt".into());
            s
        };
        for url in [
            "http://ledger.example.com:5001",
            "http://10.0.0.7:6865",
            "http://128.0.0.1:6865",
            "http://[2001:db8::7]:6865",
            "http://localhost.example.com:6865",
        ] {
            let e = refused(&with_token(url));
            assert!(
                e.starts_with(&format!("ledger.daml.url: refusing plaintext \"{url}\"")),
                "{url}: {e}"
            );
            assert!(e.contains("ledger.daml.token_file"), "{e}");
            assert!(e.contains("clear text"), "{e}");
            assert!(e.contains("https://"), "{e}");
        }
        for url in [
            "http://127.0.0.1:6865",
            "http://127.8.9.10:6865",
            "http://localhost:6865",
            "http://LOCALHOST:6865",
            "http://[::1]:6865",
            "https://ledger.example.com:5001",
            "https://10.0.0.7:6865",
        ] {
            with_token(url)
                .validate()
                .unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        // Without a token there is no secret on the wire to protect.
        DamlSettings::new("http://ledger.example.com:5001", "gateway")
            .validate()
            .expect("plaintext without a token");
    }
}
