//! Ledger values on the wire: the Ledger API v2 `Value` ⇄ the port's `LedgerValue`, field labels included.
//!
//! int64 travels as sint64, timestamps as microseconds since the epoch, dates as days since the epoch, numerics as
//! decimal strings; records always carry their labels because the gateway addresses fields by name.

use ledger_port::{LedgerValue, Record, RecordField};

use crate::conversion_error::ConversionError;
use crate::v2::{self, value::Sum};

/// The wire form of a value.
pub fn value_to_proto(value: &LedgerValue) -> v2::Value {
    let sum = match value {
        LedgerValue::Unit => Sum::Unit(()),
        LedgerValue::Bool(b) => Sum::Bool(*b),
        LedgerValue::Int64(i) => Sum::Int64(*i),
        LedgerValue::Numeric(n) => Sum::Numeric(n.clone()),
        LedgerValue::Text(t) => Sum::Text(t.clone()),
        LedgerValue::Party(p) => Sum::Party(p.clone()),
        LedgerValue::Timestamp(micros) => Sum::Timestamp(*micros),
        LedgerValue::Date(days) => Sum::Date(*days),
        LedgerValue::ContractId(id) => Sum::ContractId(id.clone()),
        LedgerValue::Optional(inner) => Sum::Optional(Box::new(v2::Optional {
            value: inner.as_ref().map(|v| Box::new(value_to_proto(v))),
        })),
        LedgerValue::List(items) => Sum::List(v2::List {
            elements: items.iter().map(value_to_proto).collect(),
        }),
        LedgerValue::TextMap(entries) => Sum::TextMap(v2::TextMap {
            entries: entries
                .iter()
                .map(|(key, value)| v2::text_map::Entry {
                    key: key.clone(),
                    value: Some(value_to_proto(value)),
                })
                .collect(),
        }),
        LedgerValue::Record(record) => Sum::Record(record_to_proto(record)),
        LedgerValue::Variant { constructor, value } => Sum::Variant(Box::new(v2::Variant {
            variant_id: None,
            constructor: constructor.clone(),
            value: Some(Box::new(value_to_proto(value))),
        })),
        LedgerValue::Enum(constructor) => Sum::Enum(v2::Enum {
            enum_id: None,
            constructor: constructor.clone(),
        }),
    };
    v2::Value { sum: Some(sum) }
}

/// The wire form of a record, every field labelled.
pub fn record_to_proto(record: &Record) -> v2::Record {
    v2::Record {
        record_id: None,
        fields: record
            .fields
            .iter()
            .map(|field| v2::RecordField {
                label: field.label.clone(),
                value: Some(value_to_proto(&field.value)),
            })
            .collect(),
    }
}

/// The port's form of a wire value; `path` names where it sits, for the error.
pub fn value_from_proto(value: &v2::Value, path: &str) -> Result<LedgerValue, ConversionError> {
    let sum = value
        .sum
        .as_ref()
        .ok_or_else(|| ConversionError::new(path, "a value with no content"))?;
    Ok(match sum {
        Sum::Unit(()) => LedgerValue::Unit,
        Sum::Bool(b) => LedgerValue::Bool(*b),
        Sum::Int64(i) => LedgerValue::Int64(*i),
        Sum::Date(days) => LedgerValue::Date(*days),
        Sum::Timestamp(micros) => LedgerValue::Timestamp(*micros),
        Sum::Numeric(n) => LedgerValue::Numeric(n.clone()),
        Sum::Party(p) => LedgerValue::Party(p.clone()),
        Sum::Text(t) => LedgerValue::Text(t.clone()),
        Sum::ContractId(id) => LedgerValue::ContractId(id.clone()),
        Sum::Optional(optional) => LedgerValue::Optional(match &optional.value {
            None => None,
            Some(inner) => Some(Box::new(value_from_proto(inner, path)?)),
        }),
        Sum::List(list) => LedgerValue::List(
            list.elements
                .iter()
                .enumerate()
                .map(|(i, v)| value_from_proto(v, &format!("{path}[{}]", i + 1)))
                .collect::<Result<_, _>>()?,
        ),
        Sum::TextMap(map) => LedgerValue::TextMap(
            map.entries
                .iter()
                .map(|entry| {
                    let inner_path = format!("{path}.{}", entry.key);
                    let value = entry.value.as_ref().ok_or_else(|| {
                        ConversionError::new(&inner_path, "a map entry with no value")
                    })?;
                    Ok((entry.key.clone(), value_from_proto(value, &inner_path)?))
                })
                .collect::<Result<_, ConversionError>>()?,
        ),
        Sum::GenMap(_) => {
            return Err(ConversionError::new(
                path,
                "a generic map (GenMap), which no workflow mapping can hold",
            ));
        }
        Sum::Record(record) => LedgerValue::Record(record_from_proto(record, path)?),
        Sum::Variant(variant) => {
            let inner = variant
                .value
                .as_ref()
                .ok_or_else(|| ConversionError::new(path, "a variant with no value"))?;
            LedgerValue::Variant {
                constructor: variant.constructor.clone(),
                value: Box::new(value_from_proto(inner, path)?),
            }
        }
        Sum::Enum(e) => LedgerValue::Enum(e.constructor.clone()),
    })
}

/// The port's form of a wire record. Every field must carry its label (ask the ledger for `verbose = true`).
pub fn record_from_proto(record: &v2::Record, path: &str) -> Result<Record, ConversionError> {
    let mut fields = Vec::with_capacity(record.fields.len());
    for (position, field) in record.fields.iter().enumerate() {
        if field.label.is_empty() {
            return Err(ConversionError::new(
                path,
                &format!(
                    "record field #{} without a label (records must be labelled: request verbose = true)",
                    position + 1
                ),
            ));
        }
        let field_path = if path.is_empty() {
            field.label.clone()
        } else {
            format!("{path}.{}", field.label)
        };
        let value = field
            .value
            .as_ref()
            .ok_or_else(|| ConversionError::new(&field_path, "a record field with no value"))?;
        fields.push(RecordField {
            label: field.label.clone(),
            value: value_from_proto(value, &field_path)?,
        });
    }
    Ok(Record { fields })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn every_kind() -> Record {
        Record::new()
            .with("unit", LedgerValue::Unit)
            .with("flag", LedgerValue::Bool(true))
            .with("count", LedgerValue::Int64(-42))
            .with("amount", LedgerValue::Numeric("12.5000000000".into()))
            .with("note", LedgerValue::Text("héllo".into()))
            .with("owner", LedgerValue::Party("Alice::1220ab".into()))
            .with("at", LedgerValue::Timestamp(1_700_000_000_123_456))
            .with("on", LedgerValue::Date(19_000))
            .with("ref", LedgerValue::ContractId("00abcdef".into()))
            .with("none", LedgerValue::Optional(None))
            .with(
                "some",
                LedgerValue::Optional(Some(Box::new(LedgerValue::Int64(7)))),
            )
            .with(
                "readings",
                LedgerValue::List(vec![LedgerValue::Int64(1), LedgerValue::Int64(2)]),
            )
            .with(
                "tags",
                LedgerValue::TextMap(vec![("k".into(), LedgerValue::Text("v".into()))]),
            )
            .with(
                "nested",
                LedgerValue::Record(Record::new().with("inner", LedgerValue::Text("x".into()))),
            )
            .with(
                "choice",
                LedgerValue::Variant {
                    constructor: "Some".into(),
                    value: Box::new(LedgerValue::Unit),
                },
            )
            .with("state", LedgerValue::Enum("Created".into()))
    }

    #[test]
    fn every_value_kind_survives_encoding_to_bytes_and_back() {
        let record = every_kind();
        let bytes = record_to_proto(&record).encode_to_vec();
        let decoded = v2::Record::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(record_from_proto(&decoded, "").expect("converts"), record);
    }

    #[test]
    fn int64_is_zigzag_encoded_as_sint64() {
        // Field 3, wire type 0 (varint) = tag 0x18; zigzag(-1) = 1. A plain int64 would encode -1 as ten bytes.
        let bytes = value_to_proto(&LedgerValue::Int64(-1)).encode_to_vec();
        assert_eq!(bytes, vec![0x18, 0x01]);
    }

    #[test]
    fn timestamps_are_sfixed64_microseconds() {
        // Field 5, wire type 1 (64-bit) = tag 0x29, then 8 little-endian bytes.
        let bytes = value_to_proto(&LedgerValue::Timestamp(1)).encode_to_vec();
        assert_eq!(bytes, vec![0x29, 1, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn unlabelled_fields_and_gen_maps_are_refused_with_their_path() {
        let unlabelled = v2::Record {
            record_id: None,
            fields: vec![v2::RecordField {
                label: String::new(),
                value: Some(value_to_proto(&LedgerValue::Int64(1))),
            }],
        };
        let err = record_from_proto(&unlabelled, "payload").expect_err("refused");
        assert!(err.to_string().contains("payload"), "{err}");
        assert!(err.to_string().contains("verbose"), "{err}");

        let gen_map = v2::Value {
            sum: Some(Sum::GenMap(v2::GenMap { entries: vec![] })),
        };
        let err = value_from_proto(&gen_map, "payload.m").expect_err("refused");
        assert!(err.to_string().contains("payload.m"), "{err}");
        let empty = v2::Value { sum: None };
        assert!(value_from_proto(&empty, "x").is_err());
    }
}
