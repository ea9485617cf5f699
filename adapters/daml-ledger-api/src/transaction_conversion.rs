//! Transactions and events on the wire ⇄ the port's model, in either of the Ledger API's transaction shapes.
//!
//! The port's model always carries all three event kinds in tree order (exercise, then the archive it causes, then
//! the successor's create), as the embedded ledger records them. On the wire a transaction comes in one shape:
//! `ACS_DELTA` (creates and archives only) or `LEDGER_EFFECTS` (exercises and creates; a consuming exercise implies
//! the archive). The gateway asks for ledger effects, because Workbench EventMessages need the choice and its
//! argument, and rebuilds the implied archives from them.

use ledger_port::{ArchivedEvent, CreatedEvent, Event, ExercisedEvent, Transaction};

use crate::conversion_error::ConversionError;
use crate::identifier::{identifier_from_template, template_from_identifier};
use crate::v2;
use crate::value_conversion::{
    record_from_proto, record_to_proto, value_from_proto, value_to_proto,
};

/// The two transaction shapes of the Ledger API v2 `TransactionFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionShape {
    /// Only the creates and archives that change the active contract set.
    AcsDelta,
    /// Exercises and creates: everything that happened, archives implied by consuming exercises.
    LedgerEffects,
}

impl TransactionShape {
    /// The shape a wire `transaction_shape` asks for; unspecified means ACS delta, as on Canton.
    pub fn from_proto(shape: i32) -> Self {
        if shape == v2::TransactionShape::LedgerEffects as i32 {
            Self::LedgerEffects
        } else {
            Self::AcsDelta
        }
    }

    /// The wire enum value.
    pub fn to_proto(self) -> v2::TransactionShape {
        match self {
            Self::AcsDelta => v2::TransactionShape::AcsDelta,
            Self::LedgerEffects => v2::TransactionShape::LedgerEffects,
        }
    }
}

fn timestamp_from_micros(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1_000) as i32,
    }
}

fn micros_from_timestamp(timestamp: &prost_types::Timestamp) -> i64 {
    timestamp
        .seconds
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(timestamp.nanos) / 1_000)
}

/// The wire form of a created event; `acs_delta` says whether it belongs to the active contract set's changes.
pub fn created_event_to_proto(
    created: &CreatedEvent,
    effective_at_micros: i64,
    witnesses: &[String],
) -> v2::CreatedEvent {
    v2::CreatedEvent {
        offset: created.offset,
        node_id: created.node_id,
        contract_id: created.contract_id.clone(),
        template_id: Some(identifier_from_template(&created.template_id)),
        contract_key: None,
        create_arguments: Some(record_to_proto(&created.arguments)),
        created_event_blob: Vec::new(),
        witness_parties: witnesses.to_vec(),
        signatories: created.signatories.clone(),
        observers: created.observers.clone(),
        created_at: Some(timestamp_from_micros(effective_at_micros)),
        package_name: package_name_of(&created.template_id.package),
        acs_delta: true,
        representative_package_id: String::new(),
    }
}

/// The wire form of an archived event.
pub fn archived_event_to_proto(
    archived: &ArchivedEvent,
    witnesses: &[String],
) -> v2::ArchivedEvent {
    v2::ArchivedEvent {
        offset: archived.offset,
        node_id: archived.node_id,
        contract_id: archived.contract_id.clone(),
        template_id: Some(identifier_from_template(&archived.template_id)),
        witness_parties: witnesses.to_vec(),
        package_name: package_name_of(&archived.template_id.package),
        implemented_interfaces: Vec::new(),
    }
}

fn package_name_of(package: &str) -> String {
    package.strip_prefix('#').unwrap_or_default().to_owned()
}

/// The port's created event from the wire.
pub fn created_event_from_proto(
    created: &v2::CreatedEvent,
    path: &str,
) -> Result<CreatedEvent, ConversionError> {
    let template = created
        .template_id
        .as_ref()
        .ok_or_else(|| ConversionError::new(&format!("{path}.template_id"), "nothing"))?;
    let arguments = match &created.create_arguments {
        Some(record) => record_from_proto(record, &format!("{path}.create_arguments"))?,
        None => {
            return Err(ConversionError::new(
                &format!("{path}.create_arguments"),
                "nothing",
            ));
        }
    };
    Ok(CreatedEvent {
        node_id: created.node_id,
        offset: created.offset,
        contract_id: created.contract_id.clone(),
        template_id: template_from_identifier(template),
        arguments,
        signatories: created.signatories.clone(),
        observers: created.observers.clone(),
    })
}

/// The wire form of a transaction in `shape`. `witnesses` fills each event's `witness_parties`.
pub fn transaction_to_proto(
    tx: &Transaction,
    shape: TransactionShape,
    witnesses: &[String],
) -> v2::Transaction {
    let last_node = tx
        .events
        .iter()
        .map(|event| match event {
            Event::Created(c) => c.node_id,
            Event::Archived(a) => a.node_id,
            Event::Exercised(x) => x.node_id,
        })
        .max()
        .unwrap_or(0);
    let events = tx
        .events
        .iter()
        .filter_map(|event| {
            let event = match (event, shape) {
                (Event::Created(c), _) => v2::event::Event::Created(created_event_to_proto(
                    c,
                    tx.effective_at_micros,
                    witnesses,
                )),
                (Event::Archived(a), TransactionShape::AcsDelta) => {
                    v2::event::Event::Archived(archived_event_to_proto(a, witnesses))
                }
                (Event::Exercised(x), TransactionShape::LedgerEffects) => {
                    v2::event::Event::Exercised(v2::ExercisedEvent {
                        offset: x.offset,
                        node_id: x.node_id,
                        contract_id: x.contract_id.clone(),
                        template_id: Some(identifier_from_template(&x.template_id)),
                        interface_id: None,
                        choice: x.choice.clone(),
                        choice_argument: Some(value_to_proto(&x.argument)),
                        acting_parties: x.acting_parties.clone(),
                        consuming: x.consuming,
                        witness_parties: witnesses.to_vec(),
                        // One exercise per command: its consequences are every later node.
                        last_descendant_node_id: last_node,
                        exercise_result: Some(value_to_proto(&ledger_port::LedgerValue::Unit)),
                        package_name: package_name_of(&x.template_id.package),
                        implemented_interfaces: Vec::new(),
                        acs_delta: x.consuming,
                    })
                }
                _ => return None,
            };
            Some(v2::Event { event: Some(event) })
        })
        .collect();
    v2::Transaction {
        update_id: tx.update_id.clone(),
        command_id: tx.command_id.clone(),
        workflow_id: String::new(),
        effective_at: Some(timestamp_from_micros(tx.effective_at_micros)),
        events,
        offset: tx.offset,
        synchronizer_id: String::new(),
        trace_context: None,
        record_time: Some(timestamp_from_micros(tx.effective_at_micros)),
        external_transaction_hash: None,
    }
}

/// The port's transaction from the wire, in either shape. Archives implied by consuming exercises are added right
/// after the exercise, so the result looks the same whichever shape the ledger sent.
pub fn transaction_from_proto(tx: &v2::Transaction) -> Result<Transaction, ConversionError> {
    let explicitly_archived: Vec<&str> = tx
        .events
        .iter()
        .filter_map(|e| match &e.event {
            Some(v2::event::Event::Archived(a)) => Some(a.contract_id.as_str()),
            _ => None,
        })
        .collect();
    let mut events = Vec::with_capacity(tx.events.len() + 1);
    for (index, event) in tx.events.iter().enumerate() {
        let path = format!("transaction.events[{index}]");
        match &event.event {
            Some(v2::event::Event::Created(created)) => {
                events.push(Event::Created(created_event_from_proto(
                    created,
                    &format!("{path}.created"),
                )?));
            }
            Some(v2::event::Event::Archived(archived)) => {
                let template = archived.template_id.as_ref().ok_or_else(|| {
                    ConversionError::new(&format!("{path}.archived.template_id"), "nothing")
                })?;
                events.push(Event::Archived(ArchivedEvent {
                    node_id: archived.node_id,
                    offset: archived.offset,
                    contract_id: archived.contract_id.clone(),
                    template_id: template_from_identifier(template),
                }));
            }
            Some(v2::event::Event::Exercised(exercised)) => {
                let template_id =
                    template_from_identifier(exercised.template_id.as_ref().ok_or_else(|| {
                        ConversionError::new(&format!("{path}.exercised.template_id"), "nothing")
                    })?);
                let argument = match &exercised.choice_argument {
                    Some(value) => {
                        value_from_proto(value, &format!("{path}.exercised.choice_argument"))?
                    }
                    None => ledger_port::LedgerValue::Unit,
                };
                events.push(Event::Exercised(ExercisedEvent {
                    node_id: exercised.node_id,
                    offset: exercised.offset,
                    contract_id: exercised.contract_id.clone(),
                    template_id: template_id.clone(),
                    choice: exercised.choice.clone(),
                    argument,
                    acting_parties: exercised.acting_parties.clone(),
                    consuming: exercised.consuming,
                }));
                if exercised.consuming
                    && !explicitly_archived.contains(&exercised.contract_id.as_str())
                {
                    events.push(Event::Archived(ArchivedEvent {
                        node_id: exercised.node_id,
                        offset: exercised.offset,
                        contract_id: exercised.contract_id.clone(),
                        template_id,
                    }));
                }
            }
            None => {
                return Err(ConversionError::new(&path, "an event with no content"));
            }
        }
    }
    Ok(Transaction {
        update_id: tx.update_id.clone(),
        command_id: tx.command_id.clone(),
        offset: tx.offset,
        effective_at_micros: tx
            .effective_at
            .as_ref()
            .map(micros_from_timestamp)
            .unwrap_or_default(),
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_port::{LedgerValue, Record, TemplateId};

    fn exercise_transaction() -> Transaction {
        let template = TemplateId::parse("#cold-chain:Shipment:Shipment").expect("valid");
        let payload = Record::new()
            .with("owner", LedgerValue::Party("Operator".into()))
            .with("state", LedgerValue::Enum("InTransit".into()));
        Transaction {
            update_id: "1220abcd".into(),
            command_id: "cmd-1".into(),
            offset: 7,
            effective_at_micros: 1_764_000_000_000_001,
            events: vec![
                Event::Exercised(ExercisedEvent {
                    node_id: 0,
                    offset: 7,
                    contract_id: "c1".into(),
                    template_id: template.clone(),
                    choice: "Transfer".into(),
                    argument: LedgerValue::Record(
                        Record::new().with("to", LedgerValue::Party("Bob".into())),
                    ),
                    acting_parties: vec!["Operator".into()],
                    consuming: true,
                }),
                Event::Archived(ArchivedEvent {
                    node_id: 1,
                    offset: 7,
                    contract_id: "c1".into(),
                    template_id: template.clone(),
                }),
                Event::Created(CreatedEvent {
                    node_id: 2,
                    offset: 7,
                    contract_id: "c2".into(),
                    template_id: template,
                    arguments: payload,
                    signatories: vec!["Operator".into()],
                    observers: vec![],
                }),
            ],
        }
    }

    fn kinds(tx: &v2::Transaction) -> Vec<&'static str> {
        tx.events
            .iter()
            .map(|e| match e.event {
                Some(v2::event::Event::Created(_)) => "created",
                Some(v2::event::Event::Archived(_)) => "archived",
                Some(v2::event::Event::Exercised(_)) => "exercised",
                None => "none",
            })
            .collect()
    }

    #[test]
    fn shapes_select_the_events_the_api_defines() {
        let tx = exercise_transaction();
        let delta = transaction_to_proto(&tx, TransactionShape::AcsDelta, &[]);
        assert_eq!(kinds(&delta), ["archived", "created"]);
        let effects = transaction_to_proto(&tx, TransactionShape::LedgerEffects, &[]);
        assert_eq!(kinds(&effects), ["exercised", "created"]);
        let Some(v2::event::Event::Exercised(x)) = &effects.events[0].event else {
            panic!("first event is the exercise");
        };
        assert_eq!(x.last_descendant_node_id, 2);
        assert_eq!(delta.effective_at.as_ref().map(|t| t.nanos), Some(1_000));
    }

    #[test]
    fn ledger_effects_come_back_with_the_implied_archive() {
        let tx = exercise_transaction();
        let effects = transaction_to_proto(&tx, TransactionShape::LedgerEffects, &[]);
        let back = transaction_from_proto(&effects).expect("converts");
        assert_eq!(back.events.len(), 3);
        assert!(matches!(&back.events[1], Event::Archived(a) if a.contract_id == "c1"));
        assert_eq!(back.update_id, tx.update_id);
        assert_eq!(back.effective_at_micros, tx.effective_at_micros);
        assert_eq!(back.events[0], tx.events[0]);
        assert_eq!(back.events[2], tx.events[2]);
    }

    #[test]
    fn acs_delta_round_trips_without_inventing_events() {
        let tx = exercise_transaction();
        let delta = transaction_to_proto(&tx, TransactionShape::AcsDelta, &[]);
        let back = transaction_from_proto(&delta).expect("converts");
        assert_eq!(back.events, tx.events[1..].to_vec());
    }

    #[test]
    fn shape_numbers_follow_the_api() {
        assert_eq!(
            TransactionShape::from_proto(2),
            TransactionShape::LedgerEffects
        );
        assert_eq!(TransactionShape::from_proto(1), TransactionShape::AcsDelta);
        assert_eq!(TransactionShape::from_proto(0), TransactionShape::AcsDelta);
        assert_eq!(TransactionShape::LedgerEffects.to_proto() as i32, 2);
    }
}
