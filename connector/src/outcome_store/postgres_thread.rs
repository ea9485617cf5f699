//! The PostgreSQL store's own thread: a small tokio runtime that owns the connection pool, and a synchronous way
//! to run one database operation on it and wait for its answer.
//!
//! The [`OutcomeStore`](super::OutcomeStore) trait is synchronous and is called from the gateway's async tasks (the
//! processor asks for a recorded outcome on a worker thread, the acks flush from a blocking thread). Calling a
//! runtime's `block_on` from a tokio worker panics, and `block_in_place` panics on the current-thread runtimes the
//! tests use, so each call is spawned onto this thread's runtime and the caller waits on a plain channel, as a redb
//! call waits for its fsync. The runtime lives and is dropped on its own thread, so dropping the store inside an
//! async context is safe too.

use std::future::Future;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::StoreError;

/// Runs futures on the store's thread.
pub(super) struct StoreThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl StoreThread {
    /// Starts the thread and its runtime.
    pub(super) fn start() -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::new(format!("cannot build the state store's runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("state-store".to_owned())
            .spawn(move || {
                // Until the store is dropped; the tasks spawned onto the handle run meanwhile.
                let _ = runtime.block_on(stopped);
                // In-flight calls are cancelled with the runtime; their callers get "the store was closed".
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|e| StoreError::new(format!("cannot start the state store's thread: {e}")))?;
        Ok(Self {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Runs `operation` on the store's thread and waits for its result, at most `limit` (a database that stopped
    /// answering mid-call counts as unavailable, not as a hang).
    pub(super) fn call<T, F>(&self, limit: Duration, operation: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let result = match tokio::time::timeout(limit, operation).await {
                Ok(result) => result,
                Err(_) => Err(StoreError::unavailable(format!(
                    "PostgreSQL did not answer within {} s",
                    limit.as_secs()
                ))),
            };
            let _ = reply.send(result);
        });
        answer
            .recv()
            .unwrap_or_else(|_| Err(StoreError::new("the state store was closed")))
    }
}

impl Drop for StoreThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // Joined so that the pool's connections are closed when the store is gone (a test drops its database
            // next); the runtime's shutdown is bounded above.
            let _ = thread.join();
        }
    }
}
