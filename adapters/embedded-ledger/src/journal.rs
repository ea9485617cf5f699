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
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ledger_port::Transaction;
use serde::Deserialize;

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

/// Where one record's payload sits in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLocation {
    /// Byte position of the payload (after the record header).
    pub position: u64,
    pub length: u32,
    /// CRC-32 of the payload, checked again when it is read back.
    pub checksum: u32,
}

/// What replay needs of a transaction: its ids and its effects on the active contract set, in event order. Decoding
/// only this skips building every payload.
#[derive(Debug, Deserialize)]
pub struct TransactionOutline {
    pub update_id: String,
    pub command_id: String,
    pub offset: i64,
    pub events: Vec<EventOutline>,
}

/// An event as replay sees it.
#[derive(Debug, Deserialize)]
pub enum EventOutline {
    Created(ContractReference),
    Archived(ContractReference),
    Exercised(serde::de::IgnoredAny),
}

/// The contract an event is about.
#[derive(Debug, Deserialize)]
pub struct ContractReference {
    pub contract_id: String,
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
    let payload = serde_json::to_vec(tx).unwrap_or_default();
    let len = (payload.len() as u32).to_le_bytes();
    let checksum = crc32fast::hash(&payload);
    let mut out = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc32fast::hash(&len).to_le_bytes());
    out.extend_from_slice(&checksum.to_le_bytes());
    out.extend_from_slice(&payload);
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

fn writer(file: File, end: u64) -> JournalWriter {
    JournalWriter {
        file: Arc::new(file),
        end,
    }
}

/// Reads up to `buf.len()` bytes, fewer only at the end of the file.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Opens (creating if needed) the journal, replays it record by record into `on_record` (offsets 1, 2, … in
/// order), cuts a torn tail, and returns the writer. Only a prefix of good records is ever handed over: a torn tail
/// is found before anything after it would be.
pub fn open(
    path: &Path,
    mut on_record: impl FnMut(RecordLocation, TransactionOutline),
) -> Result<(JournalWriter, RecoveryReport), OpenError> {
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
    let file_len = file.metadata().map_err(io)?.len();
    if file_len == 0 {
        let mut header = MAGIC.to_vec();
        header.push(VERSION);
        file.write_all(&header).map_err(io)?;
        file.sync_all().map_err(io)?;
        return Ok((writer(file, HEADER_LEN), RecoveryReport::default()));
    }
    let mut input = BufReader::with_capacity(1 << 20, &file);
    let mut header = [0u8; HEADER_LEN as usize];
    let header_len = read_up_to(&mut input, &mut header).map_err(io)?;
    if header_len < HEADER_LEN as usize || &header[..7] != MAGIC || header[7] != VERSION {
        return Err(OpenError::BadHeader {
            path: path.to_owned(),
        });
    }
    let mut transactions: u64 = 0;
    let mut pos = HEADER_LEN;
    let mut truncated_tail = None;
    let mut payload = Vec::new();
    while pos < file_len {
        let offset = transactions as i64 + 1;
        let corrupt = |reason: String| OpenError::CorruptJournal {
            path: path.to_owned(),
            offset,
            byte_position: pos,
            reason,
        };
        let mut record_header = [0u8; RECORD_HEADER_LEN];
        let got = read_up_to(&mut input, &mut record_header).map_err(io)?;
        if got < RECORD_HEADER_LEN {
            truncated_tail = Some(format!(
                "record header cut short ({got} of {RECORD_HEADER_LEN} bytes)"
            ));
            break;
        }
        let rest = &record_header;
        let len_bytes: [u8; 4] = [rest[0], rest[1], rest[2], rest[3]];
        let header_crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        let payload_crc = u32::from_le_bytes([rest[8], rest[9], rest[10], rest[11]]);
        if crc32fast::hash(&len_bytes) != header_crc {
            return Err(corrupt("record header checksum mismatch".to_owned()));
        }
        let len = u32::from_le_bytes(len_bytes) as usize;
        let end = pos + (RECORD_HEADER_LEN + len) as u64;
        if end > file_len {
            truncated_tail = Some(format!(
                "record cut short ({} of {len} payload bytes)",
                file_len - pos - RECORD_HEADER_LEN as u64
            ));
            break;
        }
        payload.resize(len, 0);
        input.read_exact(&mut payload).map_err(io)?;
        let valid = if crc32fast::hash(&payload) != payload_crc {
            Err("payload checksum mismatch".to_owned())
        } else {
            serde_json::from_slice::<TransactionOutline>(&payload)
                .map_err(|e| format!("payload is not a transaction: {e}"))
        };
        match valid {
            Ok(tx) if tx.offset == offset => {
                let location = RecordLocation {
                    position: pos + RECORD_HEADER_LEN as u64,
                    length: len as u32,
                    checksum: payload_crc,
                };
                on_record(location, tx);
                transactions += 1;
            }
            Ok(tx) => {
                return Err(corrupt(format!(
                    "record holds offset {} where {offset} was expected",
                    tx.offset
                )));
            }
            Err(reason) if end == file_len => {
                truncated_tail = Some(format!("last record: {reason}"));
                break;
            }
            Err(reason) => return Err(corrupt(reason)),
        }
        pos = end;
    }
    drop(input);
    let mut report = RecoveryReport {
        transactions,
        truncated_tail: None,
    };
    if let Some(reason) = truncated_tail {
        file.set_len(pos).map_err(io)?;
        file.sync_all().map_err(io)?;
        file.seek(SeekFrom::End(0)).map_err(io)?;
        report.truncated_tail = Some(TruncatedTail {
            byte_position: pos,
            bytes_cut: file_len - pos,
            reason,
        });
    }
    Ok((writer(file, pos), report))
}
