//! Contract-id parameters that name a lineage by its linear id, resolved to the lineage's current contract id.

use message_schema::value::{LedgerValue, Record};
use uuid::Uuid;

use crate::contract_index::ContractIndex;
use crate::processor::Processor;

impl Processor {
    /// Contract-id parameters may name a lineage by its linear id; they are resolved to its current contract id.
    pub(in crate::processor) fn resolve_contract_ids(&self, record: &mut Record) {
        let index = self.index_read();
        for field in &mut record.fields {
            resolve_value(&mut field.value, &index);
        }
    }
}

pub(in crate::processor) fn resolve_value(value: &mut LedgerValue, index: &ContractIndex) {
    match value {
        LedgerValue::ContractId(id) => {
            if let Some(contract) = Uuid::parse_str(id).ok().and_then(|l| index.get(&l)) {
                *id = contract.contract_id.to_string();
            }
        }
        LedgerValue::Optional(Some(inner)) => resolve_value(inner, index),
        LedgerValue::List(items) => items.iter_mut().for_each(|v| resolve_value(v, index)),
        LedgerValue::Record(r) => r
            .fields
            .iter_mut()
            .for_each(|f| resolve_value(&mut f.value, index)),
        _ => {}
    }
}
