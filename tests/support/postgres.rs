//! PostgreSQL for the tests of `state.backend: postgres`: a database of its own per test on the local server
//! (`CONNECTOR_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/postgres`, trust authentication), dropped
//! when the test ends, and queries on it.

use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

fn server_url() -> String {
    std::env::var("CONNECTOR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Runs `sql` on the server's maintenance database, on a thread of its own (callable from async tests and from
/// `Drop`).
fn admin(sql: String) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&server_url(), tokio_postgres::NoTls)
                .await
                .expect("the test PostgreSQL server answers (CONNECTOR_TEST_POSTGRES, default 127.0.0.1:5432)");
            let driver = tokio::spawn(connection);
            client.batch_execute(&sql).await.expect(&sql);
            drop(client);
            let _ = driver.await;
        });
    })
    .join()
    .unwrap();
}

/// A fresh database, dropped with this value.
pub struct TestDatabase {
    pub name: String,
}

impl TestDatabase {
    pub fn create(test: &str) -> Self {
        let name = format!(
            "connector_test_{test}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(format!("CREATE DATABASE {name}"));
        Self { name }
    }

    /// Its URL through `port` on 127.0.0.1 (5432 directly, or a proxy's port).
    pub fn url_via(&self, port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{}", self.name)
    }

    /// The `state:` block that puts a gateway's state in this database, through `port`.
    pub fn state_yaml(&self, port: u16) -> String {
        format!(
            "state: {{ backend: postgres, postgres: {{ url: \"{}\", pool_size: 4, connect_timeout: 2s }} }}",
            self.url_via(port)
        )
    }

    /// The first column of every row of `sql`, as text.
    pub async fn query(&self, sql: &str) -> Vec<String> {
        let (client, connection) =
            tokio_postgres::connect(&self.url_via(5432), tokio_postgres::NoTls)
                .await
                .expect("the test database answers");
        let driver = tokio::spawn(connection);
        let rows = client
            .simple_query(sql)
            .await
            .expect(sql)
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some(row.get(0).unwrap_or("NULL").to_owned())
                }
                _ => None,
            })
            .collect();
        drop(client);
        let _ = driver.await;
        rows
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        admin(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}
