//! A transaction as one reader sees it: a validated `TransactionFormat` (event filter and shape) applied to a
//! committed transaction, with per-event witnesses and, unless `verbose`, records without labels.
//!
//! A created event's `observers` are its stakeholders minus its signatories (see `stakeholders`): the embedded
//! ledger records none, and a Daml client reading them (the gateway's Daml adapter) then sees the parties a
//! participant would report. Only the wire view changes; nothing the ledger stores, update ids included.

use std::collections::{BTreeSet, HashMap};

use daml_ledger_api::{TransactionShape, created_event_to_proto, transaction_to_proto, v2};
use ledger_port::{CreatedEvent, Event, LedgerError, TemplateId, Transaction};

use crate::event_filter::EventFilter;
use crate::request_errors::{invalid, missing};
use crate::stakeholders::{StakeholderIndex, contract_stakeholders};

/// What a reader asked to see of each transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionView {
    pub filter: EventFilter,
    pub shape: TransactionShape,
}

impl TransactionView {
    /// From a `TransactionFormat` found at `path` (its `event_format` is required).
    pub fn from_transaction_format(
        format: &v2::TransactionFormat,
        path: &str,
        known: Option<&[TemplateId]>,
    ) -> Result<Self, tonic::Status> {
        let filter = EventFilter::from_proto(
            format.event_format.as_ref(),
            &format!("{path}.event_format"),
            known,
        )?;
        let shape = match v2::TransactionShape::try_from(format.transaction_shape) {
            Ok(v2::TransactionShape::LedgerEffects) => TransactionShape::LedgerEffects,
            // Unspecified means ACS delta, as on Canton.
            Ok(v2::TransactionShape::AcsDelta | v2::TransactionShape::Unspecified) => {
                TransactionShape::AcsDelta
            }
            Err(_) => {
                return Err(invalid(
                    &format!("{path}.transaction_shape"),
                    format!(
                        "unknown value {}; expected TRANSACTION_SHAPE_ACS_DELTA or TRANSACTION_SHAPE_LEDGER_EFFECTS",
                        format.transaction_shape
                    ),
                ));
            }
        };
        Ok(Self { filter, shape })
    }

    /// From an `UpdateFormat` found at `path`: the sandbox's ledger has transactions only, so
    /// `include_transactions` is required (reassignments and topology events never occur).
    pub fn from_update_format(
        format: Option<&v2::UpdateFormat>,
        path: &str,
        known: Option<&[TemplateId]>,
    ) -> Result<Self, tonic::Status> {
        let format =
            format.ok_or_else(|| missing(path, "an UpdateFormat with include_transactions"))?;
        let transactions_path = format!("{path}.include_transactions");
        let transactions = format.include_transactions.as_ref().ok_or_else(|| {
            missing(
                &transactions_path,
                "a TransactionFormat (the sandbox's ledger has no reassignments or topology events to include)",
            )
        })?;
        Self::from_transaction_format(transactions, &transactions_path, known)
    }

    /// `tx` as this view sees it; its event list is empty when no event passes the filter.
    pub async fn render(
        &self,
        tx: &Transaction,
        stakeholders: &StakeholderIndex,
    ) -> Result<v2::Transaction, LedgerError> {
        let parties = stakeholders.event_parties(tx).await?;
        let mut witnesses_by_node = HashMap::new();
        let mut observers_by_node = HashMap::new();
        let mut visible = Vec::new();
        for (event, stakeholders) in tx.events.iter().zip(&parties) {
            let (node_id, template) = match event {
                Event::Created(c) => (c.node_id, &c.template_id),
                Event::Archived(a) => (a.node_id, &a.template_id),
                Event::Exercised(x) => (x.node_id, &x.template_id),
            };
            let witnesses = self.filter.witnesses(template, stakeholders);
            if !witnesses.is_empty() {
                witnesses_by_node.insert(node_id, witnesses);
                if let Event::Created(c) = event {
                    observers_by_node.insert(node_id, observers(c, stakeholders));
                }
                visible.push(event.clone());
            }
        }
        let seen = Transaction {
            events: visible,
            ..tx.clone()
        };
        let mut proto = transaction_to_proto(&seen, self.shape, &[]);
        for event in &mut proto.events {
            match &mut event.event {
                Some(v2::event::Event::Created(c)) => {
                    c.witness_parties = witnesses_by_node.remove(&c.node_id).unwrap_or_default();
                    c.observers = observers_by_node.remove(&c.node_id).unwrap_or_default();
                    if !self.filter.verbose {
                        c.create_arguments.iter_mut().for_each(strip_record_labels);
                    }
                }
                Some(v2::event::Event::Archived(a)) => {
                    a.witness_parties = witnesses_by_node.remove(&a.node_id).unwrap_or_default();
                }
                Some(v2::event::Event::Exercised(x)) => {
                    x.witness_parties = witnesses_by_node.remove(&x.node_id).unwrap_or_default();
                    if !self.filter.verbose {
                        x.choice_argument.iter_mut().for_each(strip_value_labels);
                        x.exercise_result.iter_mut().for_each(strip_value_labels);
                    }
                }
                None => {}
            }
        }
        Ok(proto)
    }
}

/// An active contract's created event as `filter` sees it; `None` when no requesting party may see it.
pub fn visible_created_event(
    created: &CreatedEvent,
    effective_at_micros: i64,
    filter: &EventFilter,
) -> Option<v2::CreatedEvent> {
    let stakeholders = contract_stakeholders(created);
    let witnesses = filter.witnesses(&created.template_id, &stakeholders);
    if witnesses.is_empty() {
        return None;
    }
    let mut proto = created_event_to_proto(created, effective_at_micros, &witnesses);
    proto.observers = observers(created, &stakeholders);
    if !filter.verbose {
        proto
            .create_arguments
            .iter_mut()
            .for_each(strip_record_labels);
    }
    Some(proto)
}

/// A created contract's observers as a participant reports them: its stakeholders that are not signatories, sorted.
fn observers(created: &CreatedEvent, stakeholders: &BTreeSet<String>) -> Vec<String> {
    stakeholders
        .iter()
        .filter(|p| !created.signatories.contains(p))
        .cloned()
        .collect()
}

/// Drops field labels, as a participant does when `verbose` is false.
fn strip_record_labels(record: &mut v2::Record) {
    for field in &mut record.fields {
        field.label.clear();
        field.value.iter_mut().for_each(strip_value_labels);
    }
}

fn strip_value_labels(value: &mut v2::Value) {
    use v2::value::Sum;
    match &mut value.sum {
        Some(Sum::Record(record)) => strip_record_labels(record),
        Some(Sum::Optional(optional)) => optional
            .value
            .iter_mut()
            .for_each(|v| strip_value_labels(v)),
        Some(Sum::List(list)) => list.elements.iter_mut().for_each(strip_value_labels),
        Some(Sum::TextMap(map)) => map
            .entries
            .iter_mut()
            .for_each(|e| e.value.iter_mut().for_each(strip_value_labels)),
        Some(Sum::GenMap(map)) => map.entries.iter_mut().for_each(|e| {
            e.key.iter_mut().for_each(strip_value_labels);
            e.value.iter_mut().for_each(strip_value_labels);
        }),
        Some(Sum::Variant(variant)) => variant.value.iter_mut().for_each(|v| strip_value_labels(v)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daml_ledger_api::{record_to_proto, value_to_proto};
    use ledger_port::{LedgerValue, Record};

    #[test]
    fn terse_records_lose_every_label_at_every_depth() {
        let record = Record::new().with("a", LedgerValue::Int64(1)).with(
            "b",
            LedgerValue::List(vec![LedgerValue::Record(
                Record::new().with("c", LedgerValue::Unit),
            )]),
        );
        let mut proto = record_to_proto(&record);
        strip_record_labels(&mut proto);
        assert!(proto.fields.iter().all(|f| f.label.is_empty()));
        let Some(v2::value::Sum::List(list)) =
            proto.fields[1].value.as_ref().and_then(|v| v.sum.clone())
        else {
            panic!("a list");
        };
        let Some(v2::value::Sum::Record(inner)) = &list.elements[0].sum else {
            panic!("a record");
        };
        assert_eq!(inner.fields[0].label, "");
        assert_eq!(
            inner.fields[0].value,
            Some(value_to_proto(&LedgerValue::Unit))
        );
    }

    #[test]
    fn unknown_shapes_are_refused_and_unspecified_is_acs_delta() {
        let format = |shape: i32| v2::TransactionFormat {
            event_format: Some(v2::EventFormat {
                filters_for_any_party: Some(v2::Filters::default()),
                ..Default::default()
            }),
            transaction_shape: shape,
        };
        let view = TransactionView::from_transaction_format(&format(0), "f", None).expect("valid");
        assert_eq!(view.shape, TransactionShape::AcsDelta);
        let view = TransactionView::from_transaction_format(&format(2), "f", None).expect("valid");
        assert_eq!(view.shape, TransactionShape::LedgerEffects);
        let status =
            TransactionView::from_transaction_format(&format(7), "f", None).expect_err("refused");
        assert!(status.message().contains("f.transaction_shape"));

        let no_transactions = v2::UpdateFormat {
            include_transactions: None,
            include_reassignments: None,
        };
        let status =
            TransactionView::from_update_format(Some(&no_transactions), "update_format", None)
                .expect_err("refused");
        assert!(
            status
                .message()
                .contains("update_format.include_transactions: missing")
        );
    }
}
