//! The durable outcome store, a redb database under `state_dir`.
//!
//! Each `put` is its own write transaction committed with `Durability::None` (no fsync); `flush` commits an empty
//! transaction with `Durability::Immediate`, which makes every earlier commit durable at once. So the gateway pays one
//! fsync per batch of acks. Outcomes are encoded in a small length-prefixed binary form (the bodies are already JSON;
//! wrapping them in JSON again would escape every quote).

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTableMetadata, TableDefinition};

use super::{OutcomeStore, StoreError};
use crate::encoded_egress::EncodedEgress;

const OUTCOMES: TableDefinition<&str, &[u8]> = TableDefinition::new("outcomes");
const CHECKPOINTS: TableDefinition<&str, i64> = TableDefinition::new("checkpoints");
const OBSERVER_CHECKPOINT: &str = "observer";
const FORMAT_VERSION: u8 = 1;

/// Outcomes in a redb file.
pub struct RedbOutcomeStore {
    db: Database,
}

fn err(context: &str) -> impl Fn(String) -> StoreError + '_ {
    move |e| StoreError(format!("{context}: {e}"))
}

impl RedbOutcomeStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError(format!(
                    "cannot create state directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let db = Database::create(path).map_err(|e| {
            StoreError(format!("cannot open outcome store {}: {e}", path.display()))
        })?;
        let txn = db.begin_write().map_err(|e| err("begin")(e.to_string()))?;
        txn.open_table(OUTCOMES)
            .map_err(|e| err("create table")(e.to_string()))?;
        txn.open_table(CHECKPOINTS)
            .map_err(|e| err("create table")(e.to_string()))?;
        txn.commit().map_err(|e| err("commit")(e.to_string()))?;
        Ok(Self { db })
    }
}

impl OutcomeStore for RedbOutcomeStore {
    fn get(&self, request_id: &str) -> Result<Option<Vec<EncodedEgress>>, StoreError> {
        let txn = self
            .db
            .begin_read()
            .map_err(|e| err("begin read")(e.to_string()))?;
        let table = txn
            .open_table(OUTCOMES)
            .map_err(|e| err("open table")(e.to_string()))?;
        let Some(value) = table
            .get(request_id)
            .map_err(|e| err("read")(e.to_string()))?
        else {
            return Ok(None);
        };
        decode(value.value())
            .map(Some)
            .ok_or_else(|| StoreError(format!("stored outcome of {request_id:?} is corrupt")))
    }

    fn put(&self, request_id: &str, egress: &[EncodedEgress]) -> Result<(), StoreError> {
        let bytes = encode(egress);
        let mut txn = self
            .db
            .begin_write()
            .map_err(|e| err("begin write")(e.to_string()))?;
        txn.set_durability(Durability::None)
            .map_err(|e| err("set durability")(e.to_string()))?;
        {
            let mut table = txn
                .open_table(OUTCOMES)
                .map_err(|e| err("open table")(e.to_string()))?;
            table
                .insert(request_id, bytes.as_slice())
                .map_err(|e| err("insert")(e.to_string()))?;
        }
        txn.commit().map_err(|e| err("commit")(e.to_string()))
    }

    fn flush(&self) -> Result<(), StoreError> {
        let mut txn = self
            .db
            .begin_write()
            .map_err(|e| err("begin write")(e.to_string()))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| err("set durability")(e.to_string()))?;
        txn.commit()
            .map_err(|e| err("durable commit")(e.to_string()))
    }

    fn count(&self) -> Result<u64, StoreError> {
        let txn = self
            .db
            .begin_read()
            .map_err(|e| err("begin read")(e.to_string()))?;
        let table = txn
            .open_table(OUTCOMES)
            .map_err(|e| err("open table")(e.to_string()))?;
        table.len().map_err(|e| err("count")(e.to_string()))
    }

    fn checkpoint(&self) -> Result<Option<i64>, StoreError> {
        let txn = self
            .db
            .begin_read()
            .map_err(|e| err("begin read")(e.to_string()))?;
        let table = txn
            .open_table(CHECKPOINTS)
            .map_err(|e| err("open table")(e.to_string()))?;
        let value = table
            .get(OBSERVER_CHECKPOINT)
            .map_err(|e| err("read")(e.to_string()))?;
        Ok(value.map(|v| v.value()))
    }

    fn set_checkpoint(&self, offset: i64) -> Result<(), StoreError> {
        let mut txn = self
            .db
            .begin_write()
            .map_err(|e| err("begin write")(e.to_string()))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| err("set durability")(e.to_string()))?;
        {
            let mut table = txn
                .open_table(CHECKPOINTS)
                .map_err(|e| err("open table")(e.to_string()))?;
            table
                .insert(OBSERVER_CHECKPOINT, offset)
                .map_err(|e| err("insert")(e.to_string()))?;
        }
        txn.commit().map_err(|e| err("commit")(e.to_string()))
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn encode(egress: &[EncodedEgress]) -> Vec<u8> {
    let mut out = Vec::with_capacity(egress.iter().map(|e| e.body.len() + 128).sum());
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&(egress.len() as u32).to_le_bytes());
    for e in egress {
        put_bytes(&mut out, e.routing_key.as_bytes());
        put_bytes(&mut out, e.message_id.as_bytes());
        match &e.request_id {
            Some(id) => {
                out.push(1);
                put_bytes(&mut out, id.as_bytes());
            }
            None => out.push(0),
        }
        put_bytes(&mut out, &e.body);
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
}

fn decode(bytes: &[u8]) -> Option<Vec<EncodedEgress>> {
    let mut r = Reader { bytes };
    if r.take(1)? != [FORMAT_VERSION] {
        return None;
    }
    let count = r.u32()? as usize;
    let mut out = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let routing_key = r.string()?;
        let message_id = r.string()?;
        let request_id = match r.take(1)? {
            [1] => Some(r.string()?),
            [0] => None,
            _ => return None,
        };
        let body = r.bytes()?.to_vec();
        out.push(EncodedEgress {
            routing_key,
            message_id,
            request_id,
            body,
        });
    }
    r.bytes.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<EncodedEgress> {
        vec![
            EncodedEgress {
                routing_key: "CreateContractUpdate".into(),
                message_id: "abc".into(),
                request_id: Some("r1".into()),
                body: br#"{"a":"b"}"#.to_vec(),
            },
            EncodedEgress {
                routing_key: "Failure".into(),
                message_id: "def".into(),
                request_id: None,
                body: vec![],
            },
        ]
    }

    #[test]
    fn encoding_round_trips_and_rejects_truncation() {
        let bytes = encode(&sample());
        assert_eq!(decode(&bytes).unwrap(), sample());
        for cut in 0..bytes.len() {
            assert!(
                decode(&bytes[..cut]).is_none(),
                "a prefix of {cut} bytes must not decode"
            );
        }
    }

    #[test]
    fn outcomes_survive_reopen_after_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        {
            let store = RedbOutcomeStore::open(&path).unwrap();
            assert_eq!(store.get("r1").unwrap(), None);
            store.put("r1", &sample()).unwrap();
            store.flush().unwrap();
            assert_eq!(store.count().unwrap(), 1);
        }
        let store = RedbOutcomeStore::open(&path).unwrap();
        assert_eq!(store.get("r1").unwrap().unwrap(), sample());
        assert_eq!(store.get("r2").unwrap(), None);
        assert_eq!(store.checkpoint().unwrap(), None);
        store.set_checkpoint(42).unwrap();
        drop(store);
        let store = RedbOutcomeStore::open(&path).unwrap();
        assert_eq!(store.checkpoint().unwrap(), Some(42));
    }
}
