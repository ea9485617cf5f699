//! The ledger value model: the payload shapes a ledger adapter produces (records, lists, optionals, scalars).
//!
//! It lives here, in the pure message crate, because egress `contractProperties` are a flattening of it and the
//! ledger port re-exports it, so there is one model from the ledger to the wire.

use serde::{Deserialize, Serialize};

/// A labelled field of a [`Record`]. Field order is significant and kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordField {
    pub label: String,
    pub value: LedgerValue,
}

/// A record: an ordered list of labelled fields (a Daml record, a contract payload, a choice argument).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub fields: Vec<RecordField>,
}

impl Record {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a field, keeping insertion order; builder style.
    pub fn with(mut self, label: impl Into<String>, value: LedgerValue) -> Self {
        self.fields.push(RecordField {
            label: label.into(),
            value,
        });
        self
    }

    /// The value of the first field labelled `label`.
    pub fn get(&self, label: &str) -> Option<&LedgerValue> {
        self.fields
            .iter()
            .find(|f| f.label == label)
            .map(|f| &f.value)
    }

    /// Sets `label` to `value`, replacing the field in place or appending it when absent.
    pub fn set(&mut self, label: &str, value: LedgerValue) {
        match self.fields.iter_mut().find(|f| f.label == label) {
            Some(field) => field.value = value,
            None => self.fields.push(RecordField {
                label: label.to_owned(),
                value,
            }),
        }
    }
}

/// One ledger value. Mirrors the Daml Ledger API v2 `Value` (without generic maps, which no mapping produces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum LedgerValue {
    Unit,
    Bool(bool),
    Int64(i64),
    /// A decimal number in its canonical text form (e.g. `"12.5000000000"`).
    Numeric(String),
    Text(String),
    Party(String),
    /// Microseconds since the Unix epoch, UTC.
    Timestamp(i64),
    /// Days since the Unix epoch.
    Date(i32),
    ContractId(String),
    Optional(Option<Box<LedgerValue>>),
    List(Vec<LedgerValue>),
    TextMap(Vec<(String, LedgerValue)>),
    Record(Record),
    Variant {
        constructor: String,
        value: Box<LedgerValue>,
    },
    /// An enum constructor.
    Enum(String),
}
