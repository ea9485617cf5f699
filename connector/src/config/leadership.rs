//! `leadership:`: which instance of a deployment publishes observer egress when several run. Its own file so the
//! surface stays small and apart: `observer: none | postgres`, the PostgreSQL URL of the lock, and an optional lock
//! key. Without `postgres_url` the lock is taken in the state store's database (`state.backend: postgres`), which
//! is where the instances already meet; `postgres_url` puts it elsewhere.
//!
//! The lock key names the deployment: every instance that consumes one ingress queue must contend for the same key,
//! and two deployments sharing one PostgreSQL must not. By default it is derived from the ingress queue name (the
//! first 8 bytes, big-endian, of SHA-256 over `connector observer leadership\0<ingress_queue>`); `lock_key` sets it
//! outright (two deployments on different vhosts with the same queue name, or a test that wants its own).

use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How observer leadership is decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObserverLeadership {
    /// No election: every instance whose observer is on publishes (right for one instance).
    #[default]
    None,
    /// The instance holding a PostgreSQL session-level advisory lock publishes; the others wait for it.
    Postgres,
}

/// The `leadership:` block.
#[derive(Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadershipConfig {
    /// `none` (default) or `postgres`.
    #[serde(default)]
    pub observer: ObserverLeadership,
    /// The PostgreSQL holding the lock, as a libpq-style URL (`postgres://user[:password]@host:port/db`) or
    /// key=value string; required with `observer: postgres`. The password is never shown.
    #[serde(default)]
    pub postgres_url: Option<String>,
    /// The advisory lock's key; default derived from `amqp.ingress_queue`.
    #[serde(default)]
    pub lock_key: Option<i64>,
}

/// The password may be in the URL: never printed.
impl std::fmt::Debug for LeadershipConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeadershipConfig")
            .field("observer", &self.observer)
            .field("postgres", &self.shown_postgres())
            .field("lock_key", &self.lock_key)
            .finish()
    }
}

const KEY_DOMAIN: &[u8] = b"connector observer leadership\0";

impl LeadershipConfig {
    /// The lock key of a deployment consuming `ingress_queue`.
    pub fn lock_key(&self, ingress_queue: &str) -> i64 {
        if let Some(key) = self.lock_key {
            return key;
        }
        let digest = Sha256::new()
            .chain_update(KEY_DOMAIN)
            .chain_update(ingress_queue.as_bytes())
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(first)
    }

    /// The connection settings of the lock, when leadership is by PostgreSQL and the URL parses.
    pub fn postgres_config(&self) -> Option<tokio_postgres::Config> {
        if self.observer != ObserverLeadership::Postgres {
            return None;
        }
        tokio_postgres::Config::from_str(self.postgres_url.as_deref()?).ok()
    }

    /// Where the lock lives, without the password: `user@host:port/dbname`.
    pub fn shown_postgres(&self) -> Option<String> {
        let config = tokio_postgres::Config::from_str(self.postgres_url.as_deref()?).ok()?;
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
            .map(|(host, port)| match host {
                tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        Some(format!(
            "{}@{}/{}",
            config.get_user().unwrap_or("?"),
            hosts.join(","),
            config.get_dbname().unwrap_or("")
        ))
    }

    /// The path and reason of a setting that cannot work; `state_in_postgres` says the state store is PostgreSQL,
    /// whose database the lock then uses when no `postgres_url` is given.
    pub fn invalid_setting(&self, state_in_postgres: bool) -> Option<(&'static str, String)> {
        match (self.observer, &self.postgres_url) {
            (ObserverLeadership::Postgres, None) if !state_in_postgres => Some((
                "leadership.postgres_url",
                "required with leadership.observer: postgres unless state.backend is postgres (whose database the \
                 lock then uses); e.g. postgres://connector@127.0.0.1:5432/connector"
                    .to_owned(),
            )),
            (_, Some(url)) => match tokio_postgres::Config::from_str(url) {
                // The driver's message names the part that is wrong, never the password.
                Err(e) => Some((
                    "leadership.postgres_url",
                    format!("not a PostgreSQL connection URL: {e} (expected postgres://user@host:port/dbname)"),
                )),
                Ok(config) if config.get_hosts().is_empty() => Some((
                    "leadership.postgres_url",
                    "names no host (expected postgres://user@host:port/dbname)".to_owned(),
                )),
                // The lock connects without TLS; with sslmode=require it would never connect, and never lead.
                Ok(config) if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require => Some((
                    "leadership.postgres_url",
                    "sslmode=require is not supported: the lock connects without TLS (sslmode=disable or prefer, \
                     or leave it out)"
                        .to_owned(),
                )),
                Ok(_) => None,
            },
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postgres(url: &str) -> LeadershipConfig {
        LeadershipConfig {
            observer: ObserverLeadership::Postgres,
            postgres_url: Some(url.to_owned()),
            lock_key: None,
        }
    }

    #[test]
    fn the_lock_key_names_the_queue_unless_set() {
        let config = postgres("postgres://postgres@127.0.0.1:5432/postgres");
        assert_eq!(
            config.lock_key("workbench.ingress"),
            config.lock_key("workbench.ingress")
        );
        assert_ne!(
            config.lock_key("workbench.ingress"),
            config.lock_key("other.ingress")
        );
        let set = LeadershipConfig {
            lock_key: Some(42),
            ..config
        };
        assert_eq!(set.lock_key("workbench.ingress"), 42);
    }

    #[test]
    fn the_password_is_never_shown() {
        let config = postgres("postgres://connector:s3cret@db.example:6432/state");
        assert_eq!(
            config.shown_postgres().as_deref(),
            Some("connector@db.example:6432/state")
        );
        assert!(!format!("{config:?}").contains("s3cret"));
        assert!(config.postgres_config().is_some());
        assert_eq!(config.invalid_setting(false), None);
    }

    #[test]
    fn postgres_leadership_needs_a_url_that_parses() {
        let missing = LeadershipConfig {
            observer: ObserverLeadership::Postgres,
            ..LeadershipConfig::default()
        };
        assert_eq!(
            missing.invalid_setting(false).map(|(path, _)| path),
            Some("leadership.postgres_url")
        );
        // With the state store in PostgreSQL, the lock is taken in its database.
        assert_eq!(missing.invalid_setting(true), None);
        let tls = postgres("postgres://u@host:5432/db?sslmode=require");
        let (path, why) = tls.invalid_setting(false).unwrap_or_default();
        assert_eq!(path, "leadership.postgres_url");
        assert!(why.starts_with("sslmode=require is not supported"), "{why}");
        let bad = postgres("postgres://u:pw@host:notaport/db");
        let (path, why) = bad.invalid_setting(true).unwrap_or_default();
        assert_eq!(path, "leadership.postgres_url");
        assert!(!why.contains("pw"), "{why}");
        assert_eq!(LeadershipConfig::default().invalid_setting(false), None);
    }
}
