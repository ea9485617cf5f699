//! Opening a journal: replaying it record by record into a [`ReplaySink`], cutting a torn tail, refusing corruption
//! in the middle, and creating a fresh journal when there is none.
//!
//! Recovery: a record cut short by the end of the file, or a last record whose payload checksum fails, is a torn
//! tail: the file is truncated to the last good record and that is reported. A record with a bad header checksum, or
//! a bad payload followed by more data, is corruption in the middle: start-up fails naming the ledger offset.
//!
//! It is separate from the journal's format and handles ([`crate::journal`]) because it creates a fresh journal the
//! way a compaction writes one ([`crate::compaction`]), which itself writes in the journal's format.

use std::fs::OpenOptions;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::journal::{
    HEADER_LEN, JournalWriter, MAGIC, RECORD_HEADER_LEN, RecordLocation, VERSION, VERSION_1,
    compact_path, writer,
};
use crate::snapshot::Snapshot;

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
    /// Transaction records replayed (after a compaction: the retained ones and those after the snapshot).
    pub transactions: u64,
    pub truncated_tail: Option<TruncatedTail>,
    /// The offset of the journal's snapshot (0: never compacted).
    pub snapshot_offset: i64,
    /// A `<journal>.compact` left by a compaction that did not finish was found and removed.
    pub removed_unfinished_compaction: bool,
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
        "journal {path}: not a ledger journal (bad header; expected CLEDGER version {VERSION_1} or {VERSION})"
    )]
    BadHeader { path: PathBuf },
    #[error(
        "journal {path}: in use by another process (the lock on {lock} is held): stop the gateway or sandbox that \
         has it open first"
    )]
    Locked { path: PathBuf, lock: PathBuf },
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

/// What replay is told, in file order.
pub(crate) trait ReplaySink {
    /// The journal's snapshot (version 2), before any transaction record.
    fn snapshot(&mut self, snapshot: Snapshot);
    /// The next transaction record: after a snapshot first the retained ones (offsets up to the snapshot's, in
    /// order, with gaps), then offsets `snapshot + 1`, `snapshot + 2`, … without gaps.
    fn record(&mut self, location: RecordLocation, outline: TransactionOutline);
}

/// What reading one record found.
enum RecordRead {
    /// A whole record; its payload is in the buffer, not yet checked against `payload_crc`.
    Complete { len: usize, payload_crc: u32 },
    /// The file ends inside the record.
    Cut(String),
    /// The record header's own checksum fails.
    HeaderCorrupt,
}

/// Reads the record at `pos` (the reader stands there) into `payload`.
fn read_record(
    input: &mut impl Read,
    pos: u64,
    file_len: u64,
    payload: &mut Vec<u8>,
) -> std::io::Result<RecordRead> {
    let mut record_header = [0u8; RECORD_HEADER_LEN];
    let got = read_up_to(input, &mut record_header)?;
    if got < RECORD_HEADER_LEN {
        return Ok(RecordRead::Cut(format!(
            "record header cut short ({got} of {RECORD_HEADER_LEN} bytes)"
        )));
    }
    let rest = &record_header;
    let len_bytes: [u8; 4] = [rest[0], rest[1], rest[2], rest[3]];
    let header_crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    let payload_crc = u32::from_le_bytes([rest[8], rest[9], rest[10], rest[11]]);
    if crc32fast::hash(&len_bytes) != header_crc {
        return Ok(RecordRead::HeaderCorrupt);
    }
    let len = u32::from_le_bytes(len_bytes) as usize;
    if pos + (RECORD_HEADER_LEN + len) as u64 > file_len {
        return Ok(RecordRead::Cut(format!(
            "record cut short ({} of {len} payload bytes)",
            file_len - pos - RECORD_HEADER_LEN as u64
        )));
    }
    payload.resize(len, 0);
    input.read_exact(payload)?;
    Ok(RecordRead::Complete { len, payload_crc })
}

/// Opens (creating if needed) the journal, replays it into `sink` (its snapshot, then record by record), cuts a
/// torn tail, and returns the writer. Only a prefix of good records is ever handed over: a torn tail is found before
/// anything after it would be. A `<journal>.compact` left by an interrupted compaction is removed first: the journal
/// itself is always whole, the old one or the new one (the new one is renamed into place only once complete).
pub(crate) fn open(
    path: &Path,
    sink: &mut impl ReplaySink,
) -> Result<(JournalWriter, RecoveryReport), OpenError> {
    let io = |source| OpenError::Io {
        path: path.to_owned(),
        source,
    };
    let mut report = RecoveryReport::default();
    let unfinished = compact_path(path);
    match std::fs::remove_file(&unfinished) {
        Ok(()) => {
            report.removed_unfinished_compaction = true;
            crate::compaction::sync_parent(path).map_err(io)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let fresh = match std::fs::metadata(path) {
        // An empty file is a journal whose creation (by an older version) stopped before its header.
        Ok(meta) => meta.len() == 0,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(io(e)),
    };
    if fresh {
        crate::compaction::create_empty(path).map_err(io)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let mut input = BufReader::with_capacity(1 << 20, &file);
    let mut header = [0u8; HEADER_LEN as usize];
    let header_len = read_up_to(&mut input, &mut header).map_err(io)?;
    let version = header[7];
    if header_len < HEADER_LEN as usize
        || &header[..7] != MAGIC
        || (version != VERSION && version != VERSION_1)
    {
        return Err(OpenError::BadHeader {
            path: path.to_owned(),
        });
    }
    let mut pos = HEADER_LEN;
    let mut payload = Vec::new();
    let mut snapshot = Snapshot::default();
    if version == VERSION {
        let corrupt = |reason: String| OpenError::CorruptJournal {
            path: path.to_owned(),
            offset: 0,
            byte_position: pos,
            reason: format!(
                "the snapshot record (expected first in a version {VERSION} journal): {reason}"
            ),
        };
        match read_record(&mut input, pos, file_len, &mut payload).map_err(io)? {
            RecordRead::Complete { len, payload_crc } => {
                if crc32fast::hash(&payload) != payload_crc {
                    return Err(corrupt("payload checksum mismatch".to_owned()));
                }
                snapshot = serde_json::from_slice(&payload)
                    .map_err(|e| corrupt(format!("not a snapshot: {e}")))?;
                pos += (RECORD_HEADER_LEN + len) as u64;
            }
            RecordRead::Cut(reason) => return Err(corrupt(reason)),
            RecordRead::HeaderCorrupt => {
                return Err(corrupt("record header checksum mismatch".to_owned()));
            }
        }
        sink.snapshot(snapshot.clone());
    }
    report.snapshot_offset = snapshot.offset;
    let mut retained_left = snapshot.retained;
    let mut last_offset = 0i64;
    let mut transactions: u64 = 0;
    let mut truncated_tail = None;
    while pos < file_len {
        // Retained records come first (any increasing offsets up to the snapshot's), then no gaps.
        let expected = (retained_left == 0).then(|| last_offset.max(snapshot.offset) + 1);
        let offset = expected.unwrap_or(last_offset + 1);
        let corrupt = |reason: String| OpenError::CorruptJournal {
            path: path.to_owned(),
            offset,
            byte_position: pos,
            reason,
        };
        let (len, payload_crc) =
            match read_record(&mut input, pos, file_len, &mut payload).map_err(io)? {
                RecordRead::Complete { len, payload_crc } => (len, payload_crc),
                RecordRead::Cut(reason) => {
                    truncated_tail = Some(reason);
                    break;
                }
                RecordRead::HeaderCorrupt => {
                    return Err(corrupt("record header checksum mismatch".to_owned()));
                }
            };
        let end = pos + (RECORD_HEADER_LEN + len) as u64;
        let valid = if crc32fast::hash(&payload) != payload_crc {
            Err("payload checksum mismatch".to_owned())
        } else {
            serde_json::from_slice::<TransactionOutline>(&payload)
                .map_err(|e| format!("payload is not a transaction: {e}"))
        };
        let fits = |found: i64| match expected {
            Some(expected) => found == expected,
            None => found > last_offset && found <= snapshot.offset,
        };
        match valid {
            Ok(tx) if fits(tx.offset) => {
                let location = RecordLocation {
                    position: pos + RECORD_HEADER_LEN as u64,
                    length: len as u32,
                    checksum: payload_crc,
                };
                last_offset = tx.offset;
                retained_left = retained_left.saturating_sub(1);
                sink.record(location, tx);
                transactions += 1;
            }
            Ok(tx) => {
                let wanted = match expected {
                    Some(expected) => format!("{expected}"),
                    None => format!(
                        "a retained offset after {last_offset} up to the snapshot's {}",
                        snapshot.offset
                    ),
                };
                return Err(corrupt(format!(
                    "record holds offset {} where {wanted} was expected",
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
    if retained_left > 0 {
        // A compacted journal is renamed into place whole: missing retained records mean damage, not a crash.
        return Err(OpenError::CorruptJournal {
            path: path.to_owned(),
            offset: last_offset + 1,
            byte_position: pos,
            reason: format!(
                "the journal ends {retained_left} record(s) short of the {} its snapshot retains",
                snapshot.retained
            ),
        });
    }
    report.transactions = transactions;
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
