//! Stopping: the stop request of the long-running subcommands (`run`, `sandbox`) — SIGTERM or SIGINT, so both stop
//! cleanly under a process supervisor and from a terminal — and the wait for it that every long-running task races
//! against.

use tokio::sync::watch;

/// Resolves when the process is asked to stop: SIGTERM or SIGINT on Unix, Ctrl-C elsewhere (or on Unix when the
/// signal handlers cannot be installed).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Resolves once `shutdown` turns true (the borrow guard is dropped inside, so callers stay `Send`).
pub async fn until_stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await.map(|_| ());
}
