//! The journal: an append-only file of committed transactions, each record checksummed, fsynced before a commit is
//! reported, replayed at start.
//!
//! Writing and syncing are separate ([`JournalWriter::write`], [`JournalSync::sync`]) so that one `fdatasync` can
//! cover every record written before it (group commit; the ledger decides when to sync and who waits for it).
//!
//! Layout: an 8-byte header `CLEDGER` + format version, then records of
//! `[payload length u32 LE][CRC-32 of the length bytes u32 LE][CRC-32 of the payload u32 LE][payload]`, the payload
//! being the transaction as JSON (JSON keeps the file inspectable with standard tools; replay of 100k transactions
//! stays well under the 2 s start-up budget).
//!
//! Recovery: a record cut short by the end of the file, or a last record whose payload checksum fails, is a torn
//! tail: the file is truncated to the last good record and that is reported. A record with a bad header checksum, or
//! a bad payload followed by more data, is corruption in the middle: start-up fails naming the ledger offset.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ledger_port::Transaction;

const MAGIC: &[u8; 7] = b"CLEDGER";
const VERSION: u8 = 1;
const HEADER_LEN: u64 = 8;
const RECORD_HEADER_LEN: usize = 12;

/// Where a torn tail was cut, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncatedTail {
    /// The file length after cutting.
    pub byte_position: u64,
    /// How many bytes were cut.
    pub bytes_cut: u64,
    pub reason: String,
}

/// What replay found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecoveryReport {
    pub transactions: u64,
    pub truncated_tail: Option<TruncatedTail>,
}

/// Why the journal could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("journal {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "journal {path}: not a ledger journal (bad header; expected CLEDGER version {VERSION})"
    )]
    BadHeader { path: PathBuf },
    #[error(
        "journal {path}: corrupt record for ledger offset {offset} at byte {byte_position}: {reason}; the journal is \
         damaged before its end, so the ledger refuses to start rather than lose the transactions after it"
    )]
    CorruptJournal {
        path: PathBuf,
        offset: i64,
        byte_position: u64,
        reason: String,
    },
}

/// Appends records (without syncing them).
pub struct JournalWriter {
    file: Arc<File>,
}

/// Makes every record written so far durable. Shares the file with the writer: a sync may run while later records
/// are written, and covers at least every record whose write returned before it started.
#[derive(Clone)]
pub struct JournalSync {
    file: Arc<File>,
}

fn encode(tx: &Transaction) -> Vec<u8> {
    let payload = serde_json::to_vec(tx).unwrap_or_default();
    let len = (payload.len() as u32).to_le_bytes();
    let mut out = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc32fast::hash(&len).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

impl JournalWriter {
    /// Appends one record. It is not durable until a [`JournalSync::sync`] that starts after this returns.
    pub fn write(&mut self, transaction: &Transaction) -> std::io::Result<()> {
        (&*self.file).write_all(&encode(transaction))
    }

    /// A handle that syncs this journal.
    pub fn syncer(&self) -> JournalSync {
        JournalSync {
            file: Arc::clone(&self.file),
        }
    }
}

impl JournalSync {
    /// `fdatasync`s the journal; blocks for the duration of the disk write.
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

fn writer(file: File) -> JournalWriter {
    JournalWriter {
        file: Arc::new(file),
    }
}

/// Opens (creating if needed) the journal, replays it, cuts a torn tail, and returns the writer and transactions.
pub fn open(path: &Path) -> Result<(JournalWriter, Vec<Transaction>, RecoveryReport), OpenError> {
    let io = |source| OpenError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(io)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io)?;
    if bytes.is_empty() {
        let mut header = MAGIC.to_vec();
        header.push(VERSION);
        file.write_all(&header).map_err(io)?;
        file.sync_all().map_err(io)?;
        return Ok((writer(file), Vec::new(), RecoveryReport::default()));
    }
    if bytes.len() < HEADER_LEN as usize || &bytes[..7] != MAGIC || bytes[7] != VERSION {
        return Err(OpenError::BadHeader {
            path: path.to_owned(),
        });
    }
    let mut transactions = Vec::new();
    let mut pos = HEADER_LEN as usize;
    let mut truncated_tail = None;
    while pos < bytes.len() {
        let offset = transactions.len() as i64 + 1;
        let corrupt = |reason: String| OpenError::CorruptJournal {
            path: path.to_owned(),
            offset,
            byte_position: pos as u64,
            reason,
        };
        let rest = &bytes[pos..];
        if rest.len() < RECORD_HEADER_LEN {
            truncated_tail = Some(format!(
                "record header cut short ({} of {RECORD_HEADER_LEN} bytes)",
                rest.len()
            ));
            break;
        }
        let len_bytes: [u8; 4] = [rest[0], rest[1], rest[2], rest[3]];
        let header_crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        let payload_crc = u32::from_le_bytes([rest[8], rest[9], rest[10], rest[11]]);
        if crc32fast::hash(&len_bytes) != header_crc {
            return Err(corrupt("record header checksum mismatch".to_owned()));
        }
        let len = u32::from_le_bytes(len_bytes) as usize;
        let end = pos + RECORD_HEADER_LEN + len;
        if end > bytes.len() {
            truncated_tail = Some(format!(
                "record cut short ({} of {len} payload bytes)",
                bytes.len() - pos - RECORD_HEADER_LEN
            ));
            break;
        }
        let payload = &bytes[pos + RECORD_HEADER_LEN..end];
        let valid = if crc32fast::hash(payload) != payload_crc {
            Err("payload checksum mismatch".to_owned())
        } else {
            serde_json::from_slice::<Transaction>(payload)
                .map_err(|e| format!("payload is not a transaction: {e}"))
        };
        match valid {
            Ok(tx) if tx.offset == offset => transactions.push(tx),
            Ok(tx) => {
                return Err(corrupt(format!(
                    "record holds offset {} where {offset} was expected",
                    tx.offset
                )));
            }
            Err(reason) if end == bytes.len() => {
                truncated_tail = Some(format!("last record: {reason}"));
                break;
            }
            Err(reason) => return Err(corrupt(reason)),
        }
        pos = end;
    }
    let mut report = RecoveryReport {
        transactions: transactions.len() as u64,
        truncated_tail: None,
    };
    if let Some(reason) = truncated_tail {
        file.set_len(pos as u64).map_err(io)?;
        file.sync_all().map_err(io)?;
        file.seek(SeekFrom::End(0)).map_err(io)?;
        report.truncated_tail = Some(TruncatedTail {
            byte_position: pos as u64,
            bytes_cut: (bytes.len() - pos) as u64,
            reason,
        });
    }
    Ok((writer(file), transactions, report))
}
