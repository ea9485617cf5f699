//! How the redb store keeps one outcome: a small length-prefixed binary form (the bodies are already JSON; wrapping
//! them in JSON again would escape every quote), with the time it was recorded, which retention is measured on.
//!
//! Version 2: `[2][recorded at, unix ms u64 LE][count u32 LE]` then per message routing key, message id, an optional
//! request id and the body, each length-prefixed. Version 1 (no time) is still read; its outcomes are given the time
//! the store first opened with this version (`redb_retention.rs`).

use crate::encoded_egress::EncodedEgress;

const VERSION_1: u8 = 1;
const VERSION_2: u8 = 2;

/// An outcome as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeRecord {
    /// Unix milliseconds; none for a version-1 record.
    pub recorded_at_ms: Option<u64>,
    pub egress: Vec<EncodedEgress>,
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Encodes an outcome recorded at `recorded_at_ms`.
pub fn encode(egress: &[EncodedEgress], recorded_at_ms: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(egress.iter().map(|e| e.body.len() + 128).sum::<usize>() + 16);
    out.push(VERSION_2);
    out.extend_from_slice(&recorded_at_ms.to_le_bytes());
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

    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
}

/// Decodes a stored outcome of either version; none when the bytes are not one (cut short, unknown version).
pub fn decode(bytes: &[u8]) -> Option<OutcomeRecord> {
    let mut r = Reader { bytes };
    let recorded_at_ms = match r.take(1)? {
        [VERSION_1] => None,
        [VERSION_2] => Some(r.u64()?),
        _ => return None,
    };
    let count = r.u32()? as usize;
    let mut egress = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let routing_key = r.string()?;
        let message_id = r.string()?;
        let request_id = match r.take(1)? {
            [1] => Some(r.string()?),
            [0] => None,
            _ => return None,
        };
        let body = r.bytes()?.to_vec();
        egress.push(EncodedEgress {
            routing_key,
            message_id,
            request_id,
            body,
        });
    }
    r.bytes.is_empty().then_some(OutcomeRecord {
        recorded_at_ms,
        egress,
    })
}

/// The time recorded in stored bytes, without decoding the rest.
pub fn recorded_at_ms(bytes: &[u8]) -> Option<u64> {
    match bytes {
        [VERSION_2, rest @ ..] => rest.get(..8)?.try_into().ok().map(u64::from_le_bytes),
        _ => None,
    }
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
        let bytes = encode(&sample(), 1_764_000_000_123);
        let record = decode(&bytes).unwrap();
        assert_eq!(record.egress, sample());
        assert_eq!(record.recorded_at_ms, Some(1_764_000_000_123));
        assert_eq!(recorded_at_ms(&bytes), Some(1_764_000_000_123));
        for cut in 0..bytes.len() {
            assert!(
                decode(&bytes[..cut]).is_none(),
                "a prefix of {cut} bytes must not decode"
            );
        }
    }

    #[test]
    fn version_1_records_are_still_read() {
        // Version 1: no time after the version byte.
        let mut v1 = vec![VERSION_1];
        v1.extend_from_slice(&encode(&sample(), 0)[9..]);
        let record = decode(&v1).unwrap();
        assert_eq!(record.egress, sample());
        assert_eq!(record.recorded_at_ms, None);
        assert_eq!(recorded_at_ms(&v1), None);
    }
}
