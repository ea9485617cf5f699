//! The stop request of the long-running subcommands (`run`, `sandbox`): SIGTERM or SIGINT, so both stop cleanly
//! under a process supervisor and from a terminal.

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
