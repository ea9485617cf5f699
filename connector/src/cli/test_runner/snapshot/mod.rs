//! Snapshot cases of `connector test`: a case with `snapshot: true` compares its whole egress with the file insta's
//! layout gives it ([`location`]), in insta's `.snap` format ([`format`]) with the egress as its body ([`body`]).
//!
//! A missing or different snapshot fails the case with the paths of the changed values and a line diff ([`diff`]),
//! and writes the new egress beside it as `….snap.new` for review; `--accept` renames those into place. In CI mode
//! nothing is written or removed: a CI run must not leave files that look like a reviewed result.

mod body;
mod diff;
mod format;
mod location;

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde_json::Value;

pub use location::{SnapshotLocation, locate};

/// An inserted message shifts every later one, and the line diff shows that better than a hundred paths.
const MAX_CHANGED_VALUES_SHOWN: usize = 12;

/// Whether a run may write snapshot files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    /// Write `….snap.new` for a failing case and remove a stale one for a passing case.
    Pending,
    /// CI: write and remove nothing.
    Never,
}

/// What identifies a case's snapshot in its header: the test file as the user named it and the case's name.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    pub test_file: &'a Path,
    pub case_name: &'a str,
}

/// Compares `egress` with the case's snapshot. `Ok` with an optional note when it matches, else the failure report
/// (indented to sit under the case's `FAILED` line).
pub fn check(
    location: &SnapshotLocation,
    header: Header<'_>,
    egress: &[Value],
    writes: Writes,
) -> Result<Option<String>, String> {
    let new_body = body::render(egress);
    let accepted = location.accepted.display();
    let (recorded_body, mut report) = match std::fs::read_to_string(&location.accepted) {
        Ok(text) => match format::body_of(&text) {
            Ok(recorded) if recorded == new_body => return matched(location, writes),
            Ok(recorded) => {
                let mut report = format!("  snapshot {accepted} differs from the egress\n");
                // A hand-edited body that is no longer a JSON array still gets the line diff below.
                if let Ok(recorded) = serde_json::from_str::<Vec<Value>>(&recorded) {
                    let changed = diff::differences(&recorded, egress);
                    for line in changed.iter().take(MAX_CHANGED_VALUES_SHOWN) {
                        let _ = writeln!(report, "  changed: {line}");
                    }
                    if changed.len() > MAX_CHANGED_VALUES_SHOWN {
                        let more = changed.len() - MAX_CHANGED_VALUES_SHOWN;
                        let _ = writeln!(report, "  changed: … and {more} more (see the diff)");
                    }
                }
                (recorded, report)
            }
            Err(problem) => (String::new(), format!("  snapshot {accepted}: {problem}\n")),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (String::new(), format!("  no snapshot yet at {accepted}\n"))
        }
        Err(e) => (
            String::new(),
            format!("  cannot read snapshot {accepted}: {e}\n"),
        ),
    };
    match writes {
        Writes::Never => {
            let _ = writeln!(
                report,
                "  {} not written (CI mode: --ci or CI set)",
                location.pending.display()
            );
        }
        Writes::Pending => {
            let text = format::render(
                &header.test_file.to_string_lossy(),
                header.case_name,
                &new_body,
            );
            match write_pending(location, &text) {
                Ok(()) => {
                    let _ = writeln!(
                        report,
                        "  wrote {}; if the egress is right: connector test --accept {}",
                        location.pending.display(),
                        header.test_file.display()
                    );
                }
                Err(e) => {
                    let _ = writeln!(report, "  {e:#}");
                }
            }
        }
    }
    report.push_str(&diff::line_diff(&recorded_body, &new_body, "  "));
    Err(report)
}

fn matched(location: &SnapshotLocation, writes: Writes) -> Result<Option<String>, String> {
    if writes == Writes::Never {
        return Ok(None);
    }
    match std::fs::remove_file(&location.pending) {
        Ok(()) => Ok(Some(format!(
            "removed the stale {}",
            location.pending.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "  the snapshot matches, but the stale {} cannot be removed: {e}\n",
            location.pending.display()
        )),
    }
}

fn write_pending(location: &SnapshotLocation, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = location.pending.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the snapshot folder {}", dir.display()))?;
    }
    std::fs::write(&location.pending, text)
        .with_context(|| format!("cannot write {}", location.pending.display()))
}

/// `--accept`: makes a case's pending snapshot its snapshot; whether there was one.
pub fn accept(location: &SnapshotLocation) -> anyhow::Result<bool> {
    match std::fs::rename(&location.pending, &location.accepted) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot accept {} as {}",
                location.pending.display(),
                location.accepted.display()
            )
        }),
    }
}
