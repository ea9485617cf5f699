//! A fresh PostgreSQL database for each gateway run with `--state postgres`: created on the `--postgres-url` server
//! before the gateway starts and dropped (`WITH (FORCE)`) when it has stopped, so every run starts from empty tables
//! as a redb run starts from an empty file, and no run's rows or bloat reach the next.
//!
//! The names start with `gateway_bench_`; a run that was killed before it could drop its database leaves one of
//! those behind, to be dropped by hand.

use std::str::FromStr;

use tokio_postgres::config::Host;

use crate::error::BenchError;

/// The variable the gateway reads its PostgreSQL password from; the bench reads it too, for its own connections,
/// and hands it to the gateway in a file (its children do not inherit `CONNECTOR_*` variables).
pub const PASSWORD_ENV: &str = "CONNECTOR_STATE_POSTGRES_PASSWORD";

/// The server `--postgres-url` names: where databases are created, and how the gateway's URL is formed.
#[derive(Debug, Clone)]
pub struct PostgresServer {
    admin: tokio_postgres::Config,
    user: String,
    host: String,
    port: u16,
    password: Option<String>,
}

impl PostgresServer {
    /// Checks `url` the way the gateway will (TCP host, a user, no password in the URL) before anything starts.
    pub fn parse(url: &str) -> Result<Self, BenchError> {
        let refuse = |message: String| BenchError::Options {
            flag: "--postgres-url",
            message,
        };
        let mut admin =
            tokio_postgres::Config::from_str(url).map_err(|e| refuse(format!("{url}: {e}")))?;
        if admin.get_password().is_some() {
            return Err(refuse(format!(
                "the URL holds a password, which the gateway refuses; put it in {PASSWORD_ENV}"
            )));
        }
        let user = admin
            .get_user()
            .ok_or_else(|| {
                refuse(format!(
                    "{url}: no user (postgres://user@host:port/database)"
                ))
            })?
            .to_owned();
        let host = match admin.get_hosts() {
            [Host::Tcp(host)] => host.clone(),
            _ => {
                return Err(refuse(format!(
                    "{url}: name one TCP host (the gateway's URL has one host and no socket path)"
                )));
            }
        };
        let port = admin.get_ports().first().copied().unwrap_or(5432);
        let password = std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty());
        if let Some(password) = &password {
            admin.password(password);
        }
        Ok(Self {
            admin,
            user,
            host,
            port,
            password,
        })
    }

    /// The password the gateway must be given, if the bench was given one.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The gateway's `state.postgres.url` for database `name` on this server.
    pub fn database_url(&self, name: &str) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("postgres://{}@{host}:{}/{name}", self.user, self.port)
    }

    /// Creates a database with a name of its own; the caller drops it with [`BenchDatabase::drop_database`].
    pub async fn create_database(&self) -> Result<BenchDatabase, BenchError> {
        let name = format!("gateway_bench_{}", uuid::Uuid::new_v4().simple());
        self.execute(&format!("CREATE DATABASE {name}"), "creating a database")
            .await?;
        Ok(BenchDatabase {
            url: self.database_url(&name),
            name,
            server: self.clone(),
        })
    }

    async fn execute(&self, sql: &str, doing: &str) -> Result<(), BenchError> {
        let failed = |e: tokio_postgres::Error| BenchError::Postgres {
            doing: format!("{doing} ({sql})"),
            server: self.database_url(self.admin.get_dbname().unwrap_or("")),
            message: describe(&e),
        };
        let (client, connection) = self
            .admin
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(failed)?;
        let driver = tokio::spawn(connection);
        let outcome = client.batch_execute(sql).await.map_err(failed);
        drop(client);
        // The connection ends once the client is gone; its own error, if any, adds nothing to `outcome`.
        let _ = driver.await;
        outcome
    }
}

/// One gateway run's database.
#[derive(Debug)]
pub struct BenchDatabase {
    pub name: String,
    /// What the gateway's `state.postgres.url` says.
    pub url: String,
    server: PostgresServer,
}

impl BenchDatabase {
    /// Rows in the gateway's `outcomes` table: proof that the run's outcomes went to PostgreSQL.
    pub async fn outcomes(&self) -> Result<u64, BenchError> {
        let mut config = self.server.admin.clone();
        config.dbname(&self.name);
        let failed = |e: tokio_postgres::Error| BenchError::Postgres {
            doing: "counting the gateway's outcomes".to_owned(),
            server: self.url.clone(),
            message: describe(&e),
        };
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(failed)?;
        let driver = tokio::spawn(connection);
        let count = client
            .query_one("SELECT count(*) FROM outcomes", &[])
            .await
            .map(|row| u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
            .map_err(failed);
        drop(client);
        let _ = driver.await;
        count
    }

    /// Drops the database, closing whatever connections are left (the gateway has stopped by now; `FORCE` covers a
    /// gateway that was killed with connections open).
    pub async fn drop_database(self) -> Result<(), BenchError> {
        self.server
            .execute(
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
                "dropping the run's database",
            )
            .await
    }
}

/// The server's own message when there is one (the driver's `Display` says only "db error").
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_url_names_the_run_database_on_the_same_server() {
        let server =
            PostgresServer::parse("postgres://bench@db.internal:6543/postgres").expect("valid");
        assert_eq!(
            server.database_url("gateway_bench_x"),
            "postgres://bench@db.internal:6543/gateway_bench_x"
        );
        let default_port =
            PostgresServer::parse("postgres://postgres@127.0.0.1/postgres").expect("valid");
        assert_eq!(
            default_port.database_url("d"),
            "postgres://postgres@127.0.0.1:5432/d"
        );
    }

    #[test]
    fn urls_the_gateway_would_refuse_are_refused_first() {
        for (url, expected) in [
            ("postgres://u:secret@h/d", "holds a password"),
            ("postgres://h/d", "no user"),
            ("postgres://u@%2Frun%2Fpostgresql/d", "one TCP host"),
            ("mysql://u@h/d", "--postgres-url: mysql://u@h/d"),
        ] {
            let error = PostgresServer::parse(url).expect_err(url).to_string();
            assert!(error.contains(expected), "{url}: {error}");
            assert!(!error.contains("secret"), "{error}");
        }
    }
}
