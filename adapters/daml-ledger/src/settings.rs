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
mod tests;
