//! Which ledger a state directory belongs to.
//!
//! The outcome store and the observer checkpoint describe one ledger: outcomes say which requests committed on it,
//! the checkpoint how far its history was published. Started against another ledger (a fresh in-memory one, a
//! deleted journal, another participant), the gateway would answer re-sent requests with outcomes of transactions
//! that ledger never saw and skip the start of its history. So the state directory records the identity of its ledger
//! the first time (`ledger-identity.json`), and `run` refuses to start against a different one.
//!
//! An embedded ledger's identity is a random id written beside its journal when the journal is created
//! (`<journal>.id`); a Daml ledger's is the participant's id and the user the gateway submits as.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file in `state_dir` that names its ledger.
pub const IDENTITY_FILE: &str = "ledger-identity.json";

/// A ledger, as a state directory remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LedgerIdentity {
    Embedded {
        ledger_id: String,
    },
    Daml {
        participant_id: String,
        user_id: String,
    },
}

impl fmt::Display for LedgerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerIdentity::Embedded { ledger_id } => write!(f, "embedded ledger {ledger_id}"),
            LedgerIdentity::Daml {
                participant_id,
                user_id,
            } => write!(f, "Daml participant {participant_id:?} as user {user_id:?}"),
        }
    }
}

/// Why a state directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    #[error("state_dir {}: {source}", dir.display())]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "state_dir {}: {} is not a ledger identity ({reason}); it names the ledger this directory's outcomes belong to",
        dir.display(), IDENTITY_FILE
    )]
    Unreadable { dir: PathBuf, reason: String },
    #[error(
        "state_dir {} belongs to {recorded}, but the configured ledger is {actual}: the outcomes and observer \
         checkpoint in it describe the other ledger, and answering from them would contradict this one. Point \
         state_dir at a new, empty directory for this ledger, or the ledger back at the one the directory belongs to \
         (remove {} only if the outcomes in it are worthless)",
        dir.display(), dir.join(IDENTITY_FILE).display()
    )]
    AnotherLedger {
        dir: PathBuf,
        recorded: LedgerIdentity,
        actual: LedgerIdentity,
    },
}

/// Checks that `state_dir` belongs to `ledger`, recording it there the first time.
pub fn check_state_dir(state_dir: &Path, ledger: &LedgerIdentity) -> Result<(), StateDirError> {
    let io = |source| StateDirError::Io {
        dir: state_dir.to_owned(),
        source,
    };
    let path = state_dir.join(IDENTITY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let recorded: LedgerIdentity =
                serde_json::from_slice(&bytes).map_err(|e| StateDirError::Unreadable {
                    dir: state_dir.to_owned(),
                    reason: e.to_string(),
                })?;
            if &recorded == ledger {
                Ok(())
            } else {
                Err(StateDirError::AnotherLedger {
                    dir: state_dir.to_owned(),
                    recorded,
                    actual: ledger.clone(),
                })
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(state_dir).map_err(io)?;
            let text =
                serde_json::to_vec_pretty(ledger).map_err(|e| StateDirError::Unreadable {
                    dir: state_dir.to_owned(),
                    reason: e.to_string(),
                })?;
            write_durably(&path, &text).map_err(io)
        }
        Err(e) => Err(io(e)),
    }
}

/// The id of the embedded ledger whose journal is `journal`: read from `<journal>.id`, or made up and written there
/// when the journal is new (or older than ids). A journal deleted and started afresh gets a new id even where the
/// old id file was left behind.
pub fn embedded_ledger_id(journal: &Path) -> std::io::Result<String> {
    let id_path = id_file(journal);
    let journal_exists = journal.try_exists()?;
    if journal_exists {
        match std::fs::read_to_string(&id_path) {
            Ok(text) if uuid::Uuid::parse_str(text.trim()).is_ok() => {
                return Ok(text.trim().to_owned());
            }
            Ok(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{} does not hold a ledger id (expected a UUID)",
                        id_path.display()
                    ),
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(dir) = journal.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let id = uuid::Uuid::new_v4().to_string();
    write_durably(&id_path, format!("{id}\n").as_bytes())?;
    Ok(id)
}

fn id_file(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".id");
    PathBuf::from(name)
}

/// Writes `bytes` to `path` so that a crash leaves the old file or the new one: a temporary file beside it, synced,
/// renamed over it, and the directory synced.
pub fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)?;
    sync_directory(dir)
}

/// fsyncs a directory, so the names created or renamed in it survive a crash.
pub fn sync_directory(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_keeps_its_id_and_a_new_journal_gets_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("ledger.journal");
        let first = embedded_ledger_id(&journal).unwrap();
        std::fs::write(&journal, b"CLEDGER\x01").unwrap();
        assert_eq!(embedded_ledger_id(&journal).unwrap(), first, "stable");
        std::fs::remove_file(&journal).unwrap();
        let second = embedded_ledger_id(&journal).unwrap();
        assert_ne!(second, first, "a journal started afresh is another ledger");
        std::fs::write(&journal, b"CLEDGER\x01").unwrap();
        std::fs::write(id_file(&journal), "not an id").unwrap();
        assert!(embedded_ledger_id(&journal).is_err());
    }

    #[test]
    fn a_state_dir_records_its_ledger_and_refuses_another() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let a = LedgerIdentity::Embedded {
            ledger_id: "a".into(),
        };
        let b = LedgerIdentity::Daml {
            participant_id: "participant1::1220ab".into(),
            user_id: "gateway".into(),
        };
        check_state_dir(&state, &a).unwrap();
        check_state_dir(&state, &a).unwrap();
        let refused = check_state_dir(&state, &b).unwrap_err().to_string();
        for part in [
            "belongs to embedded ledger a",
            "the configured ledger is Daml participant \"participant1::1220ab\" as user \"gateway\"",
            "new, empty directory",
        ] {
            assert!(refused.contains(part), "{part:?} in {refused}");
        }
        std::fs::write(state.join(IDENTITY_FILE), "{").unwrap();
        assert!(matches!(
            check_state_dir(&state, &a),
            Err(StateDirError::Unreadable { .. })
        ));
    }
}
