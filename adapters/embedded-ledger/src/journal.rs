//! The journal: an append-only file of committed transactions, each record checksummed, fsynced before a commit is
//! reported, replayed at start.
//!
//! Writing and syncing are separate ([`JournalWriter::write`], [`JournalSync::sync`]) so that one `fdatasync` can
//! cover every record written before it (group commit; the ledger decides when to sync and who waits for it).
//!
//! Layout: an 8-byte header `CLEDGER` + format version, then records of
//! `[payload length u32 LE][CRC-32 of the length bytes u32 LE][CRC-32 of the payload u32 LE][payload]`, the payload
//! being the transaction as JSON (JSON keeps the file inspectable with standard tools; replay of 100k transactions
//! stays well under the 2 s start-up budget). Version 2 (written since compaction exists) starts with one
//! [`Snapshot`](crate::snapshot::Snapshot) record before the transactions; version 1 (no snapshot, transactions
//! from offset 1) still opens. A new journal is written beside its path and renamed into place (as a compaction is,
//! [`crate::compaction`]), so a crash while creating it leaves no half-written header.
//!
//! Opening a journal (replay, torn tails, corruption) is [`crate::recovery`]'s.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ledger_port::Transaction;

pub(crate) const MAGIC: &[u8; 7] = b"CLEDGER";
/// The version new journals are written with.
pub(crate) const VERSION: u8 = 2;
/// The version before snapshots; still read.
pub(crate) const VERSION_1: u8 = 1;
pub(crate) const HEADER_LEN: u64 = 8;
pub(crate) const RECORD_HEADER_LEN: usize = 12;

/// Where one record's payload sits in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLocation {
    /// Byte position of the payload (after the record header).
    pub position: u64,
    pub length: u32,
    /// CRC-32 of the payload, checked again when it is read back.
    pub checksum: u32,
}

/// Appends records (without syncing them).
pub struct JournalWriter {
    file: Arc<File>,
    /// The file length: where the next record starts.
    end: u64,
}

/// Reads records back by location. Records before the written end never change, so reads need no lock.
#[derive(Clone)]
pub struct JournalReader {
    file: Arc<File>,
}

/// Makes every record written so far durable. Shares the file with the writer: a sync may run while later records
/// are written, and covers at least every record whose write returned before it started.
#[derive(Clone)]
pub struct JournalSync {
    file: Arc<File>,
}

fn encode(tx: &Transaction) -> (Vec<u8>, u32) {
    encode_payload(&serde_json::to_vec(tx).unwrap_or_default())
}

/// One record around `payload`, and the payload's checksum.
pub(crate) fn encode_payload(payload: &[u8]) -> (Vec<u8>, u32) {
    let len = (payload.len() as u32).to_le_bytes();
    let checksum = crc32fast::hash(payload);
    let mut out = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc32fast::hash(&len).to_le_bytes());
    out.extend_from_slice(&checksum.to_le_bytes());
    out.extend_from_slice(payload);
    (out, checksum)
}

impl JournalWriter {
    /// Appends one record and says where its payload is. It is not durable until a [`JournalSync::sync`] that
    /// starts after this returns. After a failed write the file's end is unknown: the ledger stops writing.
    pub fn write(&mut self, transaction: &Transaction) -> std::io::Result<RecordLocation> {
        let (record, checksum) = encode(transaction);
        (&*self.file).write_all(&record)?;
        let location = RecordLocation {
            position: self.end + RECORD_HEADER_LEN as u64,
            length: (record.len() - RECORD_HEADER_LEN) as u32,
            checksum,
        };
        self.end += record.len() as u64;
        Ok(location)
    }

    /// Where the next record will start (the bytes before it never change).
    pub fn end(&self) -> u64 {
        self.end
    }

    /// A handle that reads this journal's records back.
    pub fn reader(&self) -> JournalReader {
        JournalReader {
            file: Arc::clone(&self.file),
        }
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

impl JournalReader {
    /// The raw payload at `location`, its checksum verified (compaction copies records without decoding them).
    pub fn read_payload(&self, location: RecordLocation) -> Result<Vec<u8>, String> {
        let mut payload = vec![0; location.length as usize];
        self.file
            .read_exact_at(&mut payload, location.position)
            .map_err(|e| format!("cannot read byte {}: {e}", location.position))?;
        if crc32fast::hash(&payload) != location.checksum {
            return Err(format!(
                "the record at byte {} changed on disk (checksum mismatch)",
                location.position
            ));
        }
        Ok(payload)
    }

    /// `length` bytes from `position`, as they are (compaction copies the records after its snapshot this way).
    pub fn read_bytes(&self, position: u64, length: usize) -> std::io::Result<Vec<u8>> {
        let mut bytes = vec![0; length];
        self.file.read_exact_at(&mut bytes, position)?;
        Ok(bytes)
    }

    /// The transaction whose payload is at `location`, its checksum verified.
    pub fn read(&self, location: RecordLocation) -> Result<Transaction, String> {
        let mut payload = vec![0; location.length as usize];
        self.file
            .read_exact_at(&mut payload, location.position)
            .map_err(|e| format!("cannot read byte {}: {e}", location.position))?;
        decode_payload(&payload, &location)
    }
}

impl JournalReader {
    /// The transactions at `locations`, in order; records that follow each other in the file are read with one
    /// system call per run instead of one each.
    pub fn read_many(&self, locations: &[RecordLocation]) -> Vec<Result<Transaction, String>> {
        let mut out = Vec::with_capacity(locations.len());
        let mut run_start = 0;
        while run_start < locations.len() {
            let mut run_end = run_start + 1;
            while run_end < locations.len() && follows(&locations[run_end - 1], &locations[run_end])
            {
                run_end += 1;
            }
            let run = &locations[run_start..run_end];
            let first = run[0].position;
            let last = &run[run.len() - 1];
            let mut bytes = vec![0; (last.position + last.length as u64 - first) as usize];
            match self.file.read_exact_at(&mut bytes, first) {
                Ok(()) => out.extend(run.iter().map(|location| {
                    let start = (location.position - first) as usize;
                    decode_payload(&bytes[start..start + location.length as usize], location)
                })),
                Err(e) => out.extend(
                    run.iter()
                        .map(|l| Err(format!("cannot read byte {}: {e}", l.position))),
                ),
            }
            run_start = run_end;
        }
        out
    }
}

/// Whether `next`'s record starts right where `previous`'s payload ends.
fn follows(previous: &RecordLocation, next: &RecordLocation) -> bool {
    previous.position + previous.length as u64 + RECORD_HEADER_LEN as u64 == next.position
}

/// A payload read back: checksum verified, then decoded.
fn decode_payload(payload: &[u8], location: &RecordLocation) -> Result<Transaction, String> {
    if crc32fast::hash(payload) != location.checksum {
        return Err(format!(
            "the record at byte {} changed on disk (checksum mismatch)",
            location.position
        ));
    }
    serde_json::from_slice(payload).map_err(|e| {
        format!(
            "the record at byte {} is not a transaction: {e}",
            location.position
        )
    })
}

pub(crate) fn writer(file: File, end: u64) -> JournalWriter {
    JournalWriter {
        file: Arc::new(file),
        end,
    }
}

/// Where an unfinished compaction of the journal at `path` is written: `<journal>.compact`.
pub(crate) fn compact_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".compact");
    PathBuf::from(name)
}
