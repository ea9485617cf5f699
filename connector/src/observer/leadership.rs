//! Observer leadership: of the instances of one deployment, the one holding a PostgreSQL session-level advisory
//! lock publishes observer egress; the others wait for it.
//!
//! The lock is taken with `pg_try_advisory_lock(key)` on a connection of its own and held for as long as that
//! session lives: PostgreSQL releases it when the session ends, so a leader that dies (SIGKILL, a lost machine: the
//! server sees the socket close) hands it over without anyone cleaning up. An instance that does not get it asks
//! again every [`RETRY_EVERY`]. A leader checks its session every [`CHECK_EVERY`] (a query answered within
//! [`QUERY_TIMEOUT`]); the moment the connection ends or a check fails it is no longer leader and the observer stops
//! publishing, before anything else: another instance may hold the lock already. It then connects again and
//! contends like the rest.
//!
//! The one window where two instances publish is a leader cut off from PostgreSQL without noticing: at most
//! `CHECK_EVERY + QUERY_TIMEOUT`, and only when the server dropped the session first (it does not before its TCP
//! keepalive gives up on a silent peer, which is longer). Observer messages carry deterministic message ids, so
//! consumers can drop a copy.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::NoTls;

use crate::shutdown::until_stopped;

/// How often an instance without the lock asks for it again.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);
/// How often a leader checks that its session (and so its lock) is still there.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// How long a connection attempt or a query may take before the session is given up.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// Contends for the lock until `shutdown`; the receiver is `true` while this instance holds it.
pub fn spawn(
    config: tokio_postgres::Config,
    key: i64,
    shutdown: watch::Receiver<bool>,
) -> (watch::Receiver<bool>, JoinHandle<()>) {
    let (leader_tx, leader_rx) = watch::channel(false);
    let task = tokio::spawn(contend(config, key, leader_tx, shutdown));
    (leader_rx, task)
}

/// Why a session ended.
enum SessionEnd {
    Shutdown,
    Lost(String),
}

async fn contend(
    mut config: tokio_postgres::Config,
    key: i64,
    leader: watch::Sender<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    config
        .connect_timeout(QUERY_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(10))
        .application_name("connector observer leadership");
    tracing::info!(lock_key = key, "contending for observer leadership");
    loop {
        let end = session(&config, key, &leader, &mut shutdown).await;
        // Before anything else: whoever reads the flag must stop publishing now.
        leader.send_replace(false);
        match end {
            SessionEnd::Shutdown => return,
            SessionEnd::Lost(why) => {
                tracing::warn!(lock_key = key, reason = %why, "observer leadership session ended; connecting again");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY_EVERY) => {}
            _ = until_stopped(&mut shutdown) => return,
        }
    }
}

async fn session(
    config: &tokio_postgres::Config,
    key: i64,
    leader: &watch::Sender<bool>,
    shutdown: &mut watch::Receiver<bool>,
) -> SessionEnd {
    let connected = tokio::select! {
        connected = tokio::time::timeout(QUERY_TIMEOUT, config.connect(NoTls)) => connected,
        _ = until_stopped(&mut *shutdown) => return SessionEnd::Shutdown,
    };
    let (client, connection) = match connected {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return SessionEnd::Lost(format!("cannot connect to PostgreSQL: {e}")),
        Err(_) => return SessionEnd::Lost("connecting to PostgreSQL timed out".to_owned()),
    };
    // The connection does its I/O in its own task; it ends when the session does.
    let mut driver = tokio::spawn(connection);
    let end = hold_or_wait(&client, key, leader, shutdown, &mut driver).await;
    if matches!(end, SessionEnd::Shutdown) && *leader.borrow() {
        // A clean stop hands over at once rather than when the socket closes.
        leader.send_replace(false);
        let _ = tokio::time::timeout(
            QUERY_TIMEOUT,
            client.execute("SELECT pg_advisory_unlock($1)", &[&key]),
        )
        .await;
    }
    drop(client);
    driver.abort();
    end
}

async fn hold_or_wait(
    client: &tokio_postgres::Client,
    key: i64,
    leader: &watch::Sender<bool>,
    shutdown: &mut watch::Receiver<bool>,
    driver: &mut JoinHandle<Result<(), tokio_postgres::Error>>,
) -> SessionEnd {
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&key];
    loop {
        let asked = tokio::select! {
            _ = until_stopped(&mut *shutdown) => return SessionEnd::Shutdown,
            ended = &mut *driver => return SessionEnd::Lost(connection_end(ended)),
            asked = tokio::time::timeout(
                QUERY_TIMEOUT,
                client.query_one("SELECT pg_try_advisory_lock($1)", &params),
            ) => asked,
        };
        let held = match asked {
            Ok(Ok(row)) => match row.try_get::<_, bool>(0) {
                Ok(held) => held,
                Err(e) => return SessionEnd::Lost(format!("unexpected answer to the lock: {e}")),
            },
            Ok(Err(e)) => return SessionEnd::Lost(format!("asking for the lock: {e}")),
            Err(_) => return SessionEnd::Lost("asking for the lock timed out".to_owned()),
        };
        if held {
            if !*leader.borrow() {
                tracing::info!(lock_key = key, "observer leadership acquired");
            }
            leader.send_replace(true);
            // Held: only check the session from now on (asking again would stack the lock's count).
            return hold(client, shutdown, driver).await;
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY_EVERY) => {}
            _ = until_stopped(&mut *shutdown) => return SessionEnd::Shutdown,
            ended = &mut *driver => return SessionEnd::Lost(connection_end(ended)),
        }
    }
}

async fn hold(
    client: &tokio_postgres::Client,
    shutdown: &mut watch::Receiver<bool>,
    driver: &mut JoinHandle<Result<(), tokio_postgres::Error>>,
) -> SessionEnd {
    loop {
        tokio::select! {
            _ = until_stopped(&mut *shutdown) => return SessionEnd::Shutdown,
            ended = &mut *driver => return SessionEnd::Lost(format!("lock lost: {}", connection_end(ended))),
            _ = tokio::time::sleep(CHECK_EVERY) => {}
        }
        match tokio::time::timeout(QUERY_TIMEOUT, client.simple_query("SELECT 1")).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return SessionEnd::Lost(format!("lock lost: session check failed: {e}")),
            Err(_) => return SessionEnd::Lost("lock lost: session check timed out".to_owned()),
        }
    }
}

fn connection_end(
    ended: Result<Result<(), tokio_postgres::Error>, tokio::task::JoinError>,
) -> String {
    match ended {
        Ok(Ok(())) => "the PostgreSQL connection closed".to_owned(),
        Ok(Err(e)) => format!("the PostgreSQL connection failed: {e}"),
        Err(e) => format!("the PostgreSQL connection task ended: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    /// The local PostgreSQL the tests run against (127.0.0.1:5432, trust authentication, user `postgres`), as the
    /// broker tests need the local RabbitMQ. A random key per run: tests never share a lock.
    fn local() -> tokio_postgres::Config {
        tokio_postgres::Config::from_str("postgres://postgres@127.0.0.1:5432/postgres")
            .unwrap_or_else(|_| tokio_postgres::Config::new())
    }

    async fn wait_for(rx: &mut watch::Receiver<bool>, value: bool, within: Duration) -> bool {
        tokio::time::timeout(within, rx.wait_for(|v| *v == value))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    #[tokio::test]
    async fn one_holder_at_a_time_and_the_next_takes_over_when_it_stops() {
        let key = rand::random::<i64>();
        let (stop_a, shutdown_a) = watch::channel(false);
        let (stop_b, shutdown_b) = watch::channel(false);
        let (mut a, task_a) = spawn(local(), key, shutdown_a);
        assert!(
            wait_for(&mut a, true, Duration::from_secs(10)).await,
            "the first contender leads (is PostgreSQL running on 127.0.0.1:5432?)"
        );
        let (mut b, task_b) = spawn(local(), key, shutdown_b);
        tokio::time::sleep(RETRY_EVERY * 2).await;
        assert!(!*b.borrow(), "the lock is held: the second waits");
        assert!(*a.borrow());
        let _ = stop_a.send(true);
        let _ = task_a.await;
        assert!(
            wait_for(&mut b, true, RETRY_EVERY * 3).await,
            "the second takes over"
        );
        let _ = stop_b.send(true);
        let _ = task_b.await;
        assert!(!*b.borrow(), "a stopped contender is no leader");
    }

    #[tokio::test]
    async fn a_leader_whose_session_is_killed_stops_leading_at_once() {
        let key = rand::random::<i64>();
        let (_stop, shutdown) = watch::channel(false);
        let (mut leader, _task) = spawn(local(), key, shutdown);
        assert!(wait_for(&mut leader, true, Duration::from_secs(10)).await);
        let Ok((admin, connection)) = local().connect(NoTls).await else {
            panic!("cannot connect to PostgreSQL on 127.0.0.1:5432");
        };
        tokio::spawn(connection);
        // A bigint advisory key is stored as its high half in classid and its low half in objid.
        let terminated = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' \
                 AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1",
                &[&key],
            )
            .await
            .and_then(|row| row.try_get::<_, i64>(0));
        assert!(matches!(terminated, Ok(1)), "{terminated:?}");
        assert!(
            wait_for(&mut leader, false, Duration::from_secs(1)).await,
            "the lost session ends leadership at once"
        );
        assert!(
            wait_for(&mut leader, true, RETRY_EVERY * 3).await,
            "free again: it leads again after connecting anew"
        );
    }
}
