//! `state.postgres`: where the PostgreSQL state store lives (`state.backend: postgres`), and how the gateway logs in.
//!
//! The URL names the user, host, port and database, never the password: a URL is logged, shown on `/status` and
//! quoted in errors, so a password inside it would leak. The password comes from `password_file` (read when the
//! store is opened, one trailing newline trimmed) or, when no file is named, from the environment variable
//! [`PASSWORD_ENV`]; the file wins because it is what the config itself asks for, while a variable may be left
//! over in a shell. Neither is ever held in the config, so the config's `Debug` and the `/status` summary cannot
//! show it; [`tokio_postgres::Config`] (which does hold it) redacts it in its own `Debug`.
//!
//! No TLS: the store connects in plain TCP (run PostgreSQL beside the gateway or on a trusted network). `sslmode`
//! may be left out or be `disable` or `prefer` (both connect without TLS); `require` is refused when the config is
//! loaded rather than failing at every connection attempt.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::HumanDuration;

/// The environment variable holding the password when `state.postgres.password_file` is not set. Not a
/// `CONNECTOR_<PATH>` override: the loader leaves it out of the config tree so it is never part of the config.
pub const PASSWORD_ENV: &str = "CONNECTOR_STATE_POSTGRES_PASSWORD";

const URL_FORM: &str = "postgres://user@host:port/database";

/// The PostgreSQL state store's connection settings.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatePostgresConfig {
    /// `postgres://user@host:port/database` (or `postgresql://`), without a password (use `password_file` or the
    /// environment variable CONNECTOR_STATE_POSTGRES_PASSWORD); no TLS, so `sslmode` may only be `disable` or
    /// `prefer`.
    #[schemars(regex(pattern = r"^postgres(ql)?://[^:/@?#\s]+@[^/@?#\s]+(/[^?#\s]*)?(\?\S*)?$"))]
    pub url: String,
    /// A file holding the password (one trailing newline is trimmed); read when the store is opened. Wins over
    /// the environment variable CONNECTOR_STATE_POSTGRES_PASSWORD.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Connections kept open to PostgreSQL.
    #[serde(default = "default_pool_size")]
    #[schemars(range(min = 1))]
    pub pool_size: usize,
    /// How long one connection attempt may take before it counts as failed (and is retried).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: HumanDuration,
}

fn default_pool_size() -> usize {
    8
}

fn default_connect_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(5))
}

/// Why the PostgreSQL settings cannot be used. No variant holds the password.
#[derive(Debug, thiserror::Error)]
pub enum StatePostgresError {
    #[error("state.postgres.url: {0}")]
    Url(String),
    #[error("state.postgres.password_file: cannot read {path}: {source}")]
    PasswordFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state.postgres.password_file: {path} is empty")]
    EmptyPasswordFile { path: PathBuf },
    #[error("{PASSWORD_ENV}: {0}")]
    PasswordEnv(String),
}

impl std::fmt::Debug for StatePostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatePostgresConfig")
            .field("url", &self.shown_url())
            .field("password_file", &self.password_file)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl StatePostgresConfig {
    /// The URL as it may be shown: should it hold a password after all (the loader refuses one, but this is also
    /// what a refused config's messages use), the password is masked.
    pub fn shown_url(&self) -> String {
        let Some((scheme, rest)) = self.url.split_once("://") else {
            return "(not a postgres:// URL)".to_owned();
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        match authority.rsplit_once('@') {
            Some((userinfo, host)) if userinfo.contains(':') => {
                let user = userinfo.split(':').next().unwrap_or_default();
                // Query parameters may hold `password=` too: dropped rather than parsed.
                let path = tail.split('?').next().unwrap_or_default();
                format!("{scheme}://{user}:***@{host}{path}")
            }
            _ if tail.contains('?') => {
                let path = tail.split('?').next().unwrap_or_default();
                format!("{scheme}://{authority}{path}?…")
            }
            _ => self.url.clone(),
        }
    }

    /// The connection settings without the password; refuses a URL that carries one, names no user, or asks for
    /// TLS. What the loader checks, so `connector check` refuses what `run` would.
    fn parsed_url(&self) -> Result<tokio_postgres::Config, StatePostgresError> {
        let url = |message: String| StatePostgresError::Url(message);
        let Some((scheme, rest)) = self.url.split_once("://") else {
            return Err(url(format!("expected a URL of the form {URL_FORM}")));
        };
        if scheme != "postgres" && scheme != "postgresql" {
            return Err(url(format!(
                "unknown scheme {scheme:?} (expected postgres:// or postgresql://, as in {URL_FORM})"
            )));
        }
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
        {
            // Named, never shown.
            return Err(url(format!(
                "the URL holds a password, which would show in logs and on /status; remove it (expected \
                 {URL_FORM}) and put the password in state.postgres.password_file or {PASSWORD_ENV}"
            )));
        }
        if let Some((_, query)) = rest.split_once('?')
            && query
                .split('&')
                .any(|pair| pair.split('=').next() == Some("password"))
        {
            return Err(url(format!(
                "the URL holds a password parameter, which would show in logs and on /status; remove it and put \
                 the password in state.postgres.password_file or {PASSWORD_ENV}"
            )));
        }
        // tokio-postgres' own messages name an option, never the text around it.
        let parsed = tokio_postgres::Config::from_str(&self.url)
            .map_err(|e| url(format!("{e} (expected {URL_FORM})")))?;
        if parsed.get_user().is_none() {
            return Err(url(format!("the URL names no user (expected {URL_FORM})")));
        }
        if parsed.get_hosts().is_empty() {
            return Err(url(format!("the URL names no host (expected {URL_FORM})")));
        }
        if parsed.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
            return Err(url(
                "sslmode=require is not supported: the state store connects without TLS (sslmode=disable or \
                 prefer, or leave it out; run PostgreSQL beside the gateway or on a trusted network)"
                    .to_owned(),
            ));
        }
        Ok(parsed)
    }

    /// What the loader refuses: the path and the message.
    pub(super) fn invalid_setting(&self) -> Option<(String, String)> {
        if let Err(e) = self.parsed_url() {
            let message = e.to_string();
            let message = message
                .strip_prefix("state.postgres.url: ")
                .unwrap_or(&message);
            return Some(("state.postgres.url".to_owned(), message.to_owned()));
        }
        if self.pool_size == 0 {
            return Some((
                "state.postgres.pool_size".to_owned(),
                "expected at least 1 connection".to_owned(),
            ));
        }
        if self.connect_timeout.0.is_zero() {
            return Some((
                "state.postgres.connect_timeout".to_owned(),
                "expected a duration longer than 0 (such as \"5s\")".to_owned(),
            ));
        }
        None
    }

    /// The driver's connection settings with the password from `password_file` or [`PASSWORD_ENV`], TLS off and the
    /// connect timeout set. Reads the password file each time it is called.
    pub fn tokio_postgres_config(&self) -> Result<tokio_postgres::Config, StatePostgresError> {
        self.tokio_postgres_config_with_env(std::env::var_os(PASSWORD_ENV))
    }

    /// [`Self::tokio_postgres_config`] with the environment variable's value given.
    fn tokio_postgres_config_with_env(
        &self,
        env_password: Option<std::ffi::OsString>,
    ) -> Result<tokio_postgres::Config, StatePostgresError> {
        let mut config = self.parsed_url()?;
        config
            .ssl_mode(tokio_postgres::config::SslMode::Disable)
            .connect_timeout(self.connect_timeout.0)
            .application_name("connector");
        if let Some(path) = &self.password_file {
            let bytes = std::fs::read(path).map_err(|source| StatePostgresError::PasswordFile {
                path: path.clone(),
                source,
            })?;
            let password = trim_one_newline(&bytes);
            if password.is_empty() {
                return Err(StatePostgresError::EmptyPasswordFile { path: path.clone() });
            }
            config.password(password);
        } else if let Some(value) = env_password {
            let bytes = value.into_encoded_bytes();
            if bytes.is_empty() {
                return Err(StatePostgresError::PasswordEnv(
                    "set but empty (unset it for no password)".to_owned(),
                ));
            }
            config.password(bytes);
        }
        Ok(config)
    }

    /// The settings for `/status` and the start-up log: no password (it is never here), and whether one is given.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "url": self.shown_url(),
            "password_file": self.password_file.as_ref().map(|p| p.display().to_string()),
            "pool_size": self.pool_size,
            "connect_timeout_ms": u64::try_from(self.connect_timeout.0.as_millis()).unwrap_or(u64::MAX),
        })
    }
}

/// The password as an editor or `echo` leaves it: one trailing `\n` (or `\r\n`) is not part of it.
fn trim_one_newline(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> StatePostgresConfig {
        StatePostgresConfig {
            url: url.to_owned(),
            password_file: None,
            pool_size: 8,
            connect_timeout: default_connect_timeout(),
        }
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_being_shown() {
        for url in [
            "postgres://gw:s3cret@db:5432/state",
            "postgres://gw@db:5432/state?password=s3cret",
        ] {
            let (path, message) = settings(url).invalid_setting().expect("refused");
            assert_eq!(path, "state.postgres.url");
            assert!(message.contains("password"), "{message}");
            assert!(!message.contains("s3cret"), "{message}");
            assert!(
                !format!("{:?}", settings(url)).contains("s3cret"),
                "Debug shows no password"
            );
            assert!(!settings(url).shown_url().contains("s3cret"));
        }
    }

    #[test]
    fn good_urls_parse_and_bad_ones_name_what_is_wrong() {
        let config = settings("postgres://gw@127.0.0.1:5433/state")
            .tokio_postgres_config_with_env(None)
            .unwrap();
        assert_eq!(config.get_user(), Some("gw"));
        assert_eq!(config.get_dbname(), Some("state"));
        assert_eq!(config.get_ports(), [5433]);
        assert_eq!(config.get_password(), None);
        assert_eq!(
            config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(5)));
        for (url, expected) in [
            ("mysql://gw@db/state", "unknown scheme"),
            ("db:5432", "expected a URL"),
            ("postgres://db:5432/state", "names no user"),
            ("postgres://gw@db/state?sslmode=require", "sslmode=require"),
            (
                "postgres://gw@db/state?bogus=1",
                "invalid connection string",
            ),
        ] {
            let (_, message) = settings(url).invalid_setting().expect(url);
            assert!(message.contains(expected), "{url}: {message}");
        }
        assert!(
            settings("postgres://gw@db/state?sslmode=disable")
                .invalid_setting()
                .is_none()
        );
    }

    #[test]
    fn the_password_file_wins_over_the_environment_and_loses_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\n").unwrap();
        let mut with_file = settings("postgres://gw@db/state");
        with_file.password_file = Some(file.clone());
        let config = with_file
            .tokio_postgres_config_with_env(Some("from-env".into()))
            .unwrap();
        assert_eq!(config.get_password(), Some(&b"from-file"[..]));
        assert!(
            !format!("{config:?}").contains("from-file"),
            "the driver's Debug redacts it"
        );
        let config = settings("postgres://gw@db/state")
            .tokio_postgres_config_with_env(Some("from-env".into()))
            .unwrap();
        assert_eq!(config.get_password(), Some(&b"from-env"[..]));
        std::fs::write(&file, "\n").unwrap();
        let e = with_file
            .tokio_postgres_config_with_env(None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is empty"), "{e}");
        with_file.password_file = Some(dir.path().join("missing"));
        let e = with_file
            .tokio_postgres_config_with_env(None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("state.postgres.password_file: cannot read"),
            "{e}"
        );
    }
}
