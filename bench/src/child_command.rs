//! How the benchmark starts a `connector` child (the gateway, the sandbox): without the benchmark's own
//! `CONNECTOR_*` variables, and set to die with the benchmark, so an interrupted or killed run leaves no gateway or
//! sandbox behind holding the broker's queues or a port; and how it asks one to stop.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};

/// `binary` as a command whose process is killed when the benchmark dies.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child ends. The benchmark starts its children from
/// the runtime's own threads (the `block_on` caller or a worker), which live as long as the run, never from a
/// short-lived blocking-pool thread.
pub fn connector_command(binary: &Path) -> Command {
    let mut command = Command::new(binary);
    // They would override the generated config.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CONNECTOR_") {
            command.env_remove(key);
        }
    }
    let parent = std::process::id();
    // SAFETY: the hook runs in the forked child before exec, and calls only async-signal-safe functions (prctl,
    // getppid, _exit); it allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The benchmark died between fork and prctl: the signal will never come, so do not start at all.
            if libc::getppid() as u32 != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    command
}

/// Asks `child` to stop (SIGTERM: the connector drains and exits). False if the signal could not be sent.
pub fn terminate(child: &Child) -> bool {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return false;
    };
    // SAFETY: kill(2) with a pid of our own, not yet reaped child (so not reused) and a valid signal.
    unsafe { libc::kill(pid, libc::SIGTERM) == 0 }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use super::*;

    /// A child of a thread that ends is killed: the parent-death signal is armed.
    #[test]
    fn the_child_dies_with_the_thread_that_started_it() {
        let mut child = std::thread::spawn(|| {
            connector_command(Path::new("sleep"))
                .arg("30")
                .stdin(Stdio::null())
                .spawn()
                .expect("sleep starts")
        })
        .join()
        .expect("the starting thread ends");
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child outlived the thread that started it");
        };
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    }
}
