//! Conformance of `connector sandbox` with a client nobody here wrote: Digital Asset's own Ledger API v2 gRPC stubs,
//! as shipped in the PyPI package dazl 8.9.0, driven by `tests/conformance/ledger_api_v2.py`.
//!
//! The test keeps a virtualenv with dazl 8.9.0 and grpcio under the target directory (created once, reused while it
//! still imports that exact version, so re-runs take seconds), starts the real binary on a free port of 127.0.0.1
//! with the example config and a token, runs the script, and stops the sandbox with SIGTERM, which must end it
//! cleanly. A pip failure fails the test: the conformance claim cannot be skipped silently.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::Sandbox;

const DAZL_VERSION: &str = "8.9.0";
const EXAMPLE_CONFIG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/refrigerated-transportation/connector.yaml"
);
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/conformance/ledger_api_v2.py"
);

fn wait_with_limit(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Runs a command to completion within `limit`, capturing its output.
fn run_with_limit(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    // Drain both pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = out.read_to_end(&mut buffer);
        buffer
    });
    let err_reader = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = err.read_to_end(&mut buffer);
        buffer
    });
    let status = match wait_with_limit(&mut child, limit) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} did not finish within {limit:?}; output so far:\n{}\n{}",
                String::from_utf8_lossy(&out_reader.join().unwrap_or_default()),
                String::from_utf8_lossy(&err_reader.join().unwrap_or_default())
            );
        }
    };
    Output {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A virtualenv's python with dazl 8.9.0 and grpcio, made on first use.
fn conformance_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("conformance-venv-dazl-{DAZL_VERSION}"));
    let python = venv.join("bin").join("python");
    let probe = format!(
        "import importlib.metadata as m, grpc; assert m.version('dazl') == '{DAZL_VERSION}', m.version('dazl')"
    );
    if python.exists()
        && run_with_limit(
            Command::new(&python).args(["-c", &probe]),
            Duration::from_secs(60),
        )
        .status
        .success()
    {
        return python;
    }
    // Build it beside the final place and move it in whole, so an interrupted install is never reused.
    let partial = venv.with_file_name(format!(
        "conformance-venv-dazl-{DAZL_VERSION}.partial-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&partial);
    let made = run_with_limit(
        Command::new("python3").arg("-m").arg("venv").arg(&partial),
        Duration::from_secs(120),
    );
    assert!(
        made.status.success(),
        "python3 -m venv failed: {}",
        describe(&made)
    );
    let installed = run_with_limit(
        Command::new(partial.join("bin").join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
            ])
            .arg(format!("dazl=={DAZL_VERSION}"))
            .arg("grpcio"),
        Duration::from_secs(600),
    );
    if !installed.status.success() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    assert!(
        installed.status.success(),
        "pip could not install dazl=={DAZL_VERSION} and grpcio from PyPI, so the conformance check cannot run: {}",
        describe(&installed)
    );
    let _ = std::fs::remove_dir_all(&venv);
    std::fs::rename(&partial, &venv).expect("move the virtualenv into place");
    // A venv's scripts hold absolute paths, but `bin/python` itself works from the new place.
    let probed = run_with_limit(
        Command::new(&python).args(["-c", &probe]),
        Duration::from_secs(60),
    );
    assert!(
        probed.status.success(),
        "the new virtualenv does not import dazl: {}",
        describe(&probed)
    );
    python
}

#[test]
fn digital_assets_own_v2_stubs_conform_to_the_sandbox() {
    let python = conformance_python();
    let dir = tempfile::tempdir().expect("temp dir");
    let token = format!("conformance-{}", std::process::id());
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).expect("token file");
    let mut sandbox = Sandbox::start(
        Path::new(EXAMPLE_CONFIG),
        &dir.path().join("sandbox.stderr"),
        Some(&token_file),
    );

    let output = run_with_limit(
        Command::new(&python)
            .arg(SCRIPT)
            .args(["--address", &sandbox.address, "--token", &token])
            .args(["--expect-version", daml_sandbox::LEDGER_API_VERSION]),
        Duration::from_secs(180),
    );
    assert!(
        output.status.success(),
        "the conformance script failed: {}\n--- sandbox stderr\n{}",
        describe(&output),
        sandbox.log_text()
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("conformance: 13 passed, 0 failed"),
        "{stdout}"
    );

    let status = sandbox.terminate(Duration::from_secs(15));
    assert!(
        status.success(),
        "the sandbox exits cleanly on SIGTERM: {status:?}\n{}",
        sandbox.log_text()
    );
}
