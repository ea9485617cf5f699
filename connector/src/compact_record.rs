//! A contract payload held compactly: the contract index keeps one per active lineage (100,000 and more), and a
//! `Record` tree of labelled values costs about 1.5 KB where its postcard encoding takes about 250 bytes. It is
//! decoded only when a read or an egress message needs the payload.
//!
//! `LedgerValue`'s own serde form is adjacently tagged (for readable JSON), which a non-self-describing format such
//! as postcard cannot read back; the payload is therefore encoded through a plain mirror of the value model.

use std::fmt;
use std::sync::Arc;

use message_schema::value::{LedgerValue, Record, RecordField};
use serde::{Deserialize, Serialize};

/// An immutable payload, cheap to clone (shared bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct CompactRecord(Arc<[u8]>);

/// A payload that could not be encoded or decoded. The bytes were encoded by this process, so this is a bug,
/// reported as an internal failure rather than a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the contract index could not encode or decode a payload: {0}")]
pub struct CompactRecordError(String);

/// [`LedgerValue`], externally tagged: the form postcard decodes.
#[derive(Deserialize)]
enum Compact {
    Unit,
    Bool(bool),
    Int64(i64),
    Numeric(String),
    Text(String),
    Party(String),
    Timestamp(i64),
    Date(i32),
    ContractId(String),
    Optional(Option<Box<Compact>>),
    List(Vec<Compact>),
    TextMap(Vec<(String, Compact)>),
    Record(Vec<(String, Compact)>),
    Variant(String, Box<Compact>),
    Enum(String),
}

/// [`Compact`] borrowing from the value it encodes, so encoding copies no strings. Same variants in the same
/// order, so postcard writes exactly what [`Compact`] reads.
#[derive(Serialize)]
enum CompactRef<'a> {
    Unit,
    Bool(bool),
    Int64(i64),
    Numeric(&'a str),
    Text(&'a str),
    Party(&'a str),
    Timestamp(i64),
    Date(i32),
    ContractId(&'a str),
    Optional(Option<Box<CompactRef<'a>>>),
    List(Vec<CompactRef<'a>>),
    TextMap(Vec<(&'a str, CompactRef<'a>)>),
    Record(Vec<(&'a str, CompactRef<'a>)>),
    Variant(&'a str, Box<CompactRef<'a>>),
    Enum(&'a str),
}

fn fields_to_compact(record: &Record) -> Vec<(&str, CompactRef<'_>)> {
    record
        .fields
        .iter()
        .map(|f| (f.label.as_str(), to_compact(&f.value)))
        .collect()
}

fn to_compact(value: &LedgerValue) -> CompactRef<'_> {
    match value {
        LedgerValue::Unit => CompactRef::Unit,
        LedgerValue::Bool(b) => CompactRef::Bool(*b),
        LedgerValue::Int64(i) => CompactRef::Int64(*i),
        LedgerValue::Numeric(n) => CompactRef::Numeric(n),
        LedgerValue::Text(t) => CompactRef::Text(t),
        LedgerValue::Party(p) => CompactRef::Party(p),
        LedgerValue::Timestamp(t) => CompactRef::Timestamp(*t),
        LedgerValue::Date(d) => CompactRef::Date(*d),
        LedgerValue::ContractId(c) => CompactRef::ContractId(c),
        LedgerValue::Optional(o) => {
            CompactRef::Optional(o.as_deref().map(|v| Box::new(to_compact(v))))
        }
        LedgerValue::List(items) => CompactRef::List(items.iter().map(to_compact).collect()),
        LedgerValue::TextMap(entries) => CompactRef::TextMap(
            entries
                .iter()
                .map(|(k, v)| (k.as_str(), to_compact(v)))
                .collect(),
        ),
        LedgerValue::Record(r) => CompactRef::Record(fields_to_compact(r)),
        LedgerValue::Variant { constructor, value } => {
            CompactRef::Variant(constructor, Box::new(to_compact(value)))
        }
        LedgerValue::Enum(e) => CompactRef::Enum(e),
    }
}

fn record_from_compact(fields: Vec<(String, Compact)>) -> Record {
    Record {
        fields: fields
            .into_iter()
            .map(|(label, value)| RecordField {
                label,
                value: from_compact(value),
            })
            .collect(),
    }
}

fn from_compact(value: Compact) -> LedgerValue {
    match value {
        Compact::Unit => LedgerValue::Unit,
        Compact::Bool(b) => LedgerValue::Bool(b),
        Compact::Int64(i) => LedgerValue::Int64(i),
        Compact::Numeric(n) => LedgerValue::Numeric(n),
        Compact::Text(t) => LedgerValue::Text(t),
        Compact::Party(p) => LedgerValue::Party(p),
        Compact::Timestamp(t) => LedgerValue::Timestamp(t),
        Compact::Date(d) => LedgerValue::Date(d),
        Compact::ContractId(c) => LedgerValue::ContractId(c),
        Compact::Optional(o) => LedgerValue::Optional(o.map(|v| Box::new(from_compact(*v)))),
        Compact::List(items) => LedgerValue::List(items.into_iter().map(from_compact).collect()),
        Compact::TextMap(entries) => LedgerValue::TextMap(
            entries
                .into_iter()
                .map(|(k, v)| (k, from_compact(v)))
                .collect(),
        ),
        Compact::Record(fields) => LedgerValue::Record(record_from_compact(fields)),
        Compact::Variant(constructor, value) => LedgerValue::Variant {
            constructor,
            value: Box::new(from_compact(*value)),
        },
        Compact::Enum(e) => LedgerValue::Enum(e),
    }
}

impl CompactRecord {
    /// The empty payload (a record with no fields), postcard's encoding of an empty list: its length, 0.
    pub fn empty() -> Self {
        Self(Arc::from([0u8].as_slice()))
    }

    /// Encodes a payload.
    pub fn encode(record: &Record) -> Result<Self, CompactRecordError> {
        postcard::to_allocvec(&fields_to_compact(record))
            .map(|bytes| Self(bytes.into()))
            .map_err(|e| CompactRecordError(e.to_string()))
    }

    /// The payload.
    pub fn decode(&self) -> Result<Record, CompactRecordError> {
        postcard::from_bytes::<Vec<(String, Compact)>>(&self.0)
            .map(record_from_compact)
            .map_err(|e| CompactRecordError(e.to_string()))
    }

    /// Encoded size in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the encoding is empty (never: even a record without fields takes a byte).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for CompactRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.decode() {
            Ok(record) => record.fmt(f),
            Err(e) => write!(f, "CompactRecord({e})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use message_schema::value::LedgerValue;

    use super::*;

    #[test]
    fn the_empty_payload_is_the_encoding_of_an_empty_record() {
        let encoded = CompactRecord::encode(&Record::new()).expect("an empty record encodes");
        assert!(CompactRecord::empty() == encoded);
        assert_eq!(
            CompactRecord::empty().decode().expect("decodes"),
            Record::new()
        );
    }

    fn every_kind_of_value() -> Record {
        Record::new()
            .with("unit", LedgerValue::Unit)
            .with("flag", LedgerValue::Bool(true))
            .with("count", LedgerValue::Int64(-42))
            .with("amount", LedgerValue::Numeric("12.5000000000".into()))
            .with("note", LedgerValue::Text("héllo, wörld".into()))
            .with("owner", LedgerValue::Party("Retailer".into()))
            .with("at", LedgerValue::Timestamp(1_764_000_000_000_000))
            .with("day", LedgerValue::Date(20_000))
            .with("ref", LedgerValue::ContractId("00ab".into()))
            .with("none", LedgerValue::Optional(None))
            .with(
                "some",
                LedgerValue::Optional(Some(Box::new(LedgerValue::Int64(1)))),
            )
            .with(
                "list",
                LedgerValue::List(vec![LedgerValue::Text("a".into()), LedgerValue::Unit]),
            )
            .with(
                "map",
                LedgerValue::TextMap(vec![("k".into(), LedgerValue::Bool(false))]),
            )
            .with(
                "nested",
                LedgerValue::Record(Record::new().with("x", LedgerValue::Int64(7))),
            )
            .with(
                "variant",
                LedgerValue::Variant {
                    constructor: "Some".into(),
                    value: Box::new(LedgerValue::Text("v".into())),
                },
            )
            .with("colour", LedgerValue::Enum("Red".into()))
    }

    #[test]
    fn every_value_kind_round_trips_in_field_order() {
        let record = every_kind_of_value();
        let compact = CompactRecord::encode(&record).expect("encode");
        assert_eq!(compact.decode().expect("decode"), record);
    }

    #[test]
    fn the_encoding_is_several_times_smaller_than_the_json() {
        let record = every_kind_of_value();
        let compact = CompactRecord::encode(&record).expect("encode");
        let json = serde_json::to_vec(&record).expect("json");
        assert!(
            compact.len() * 3 < json.len(),
            "{} bytes compact, {} as JSON",
            compact.len(),
            json.len()
        );
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        let compact = CompactRecord(Arc::from(&[0xff_u8, 0xff, 0xff][..]));
        assert!(compact.decode().is_err());
    }
}
