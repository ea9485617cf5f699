//! The linear id of the contract lineage a request is about: the one a create assigns, derived from its requestId,
//! or the one an action or a read names. The gateway orders per-contract work by it, and benchmarks and tests predict
//! the ids a create will get with it.
//!
//! The derivation is UUID v5 (SHA-1 name-based) under a fixed namespace, so a redelivered create maps to the same
//! linear id as its first delivery.

use uuid::Uuid;

use crate::ingress::IngressRequest;

/// Namespace for linear ids (a fixed random UUID; changing it would change every derived id).
const LINEAR_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5d4b_63a0_6f1e_4c5e_9a0b_2f6e_8d1c_7b31);

/// The linear id a `CreateContractRequest` assigns.
///
/// ```
/// let lid = message_schema::linear_id::linear_id_for("r1");
/// assert_eq!(lid, message_schema::linear_id::linear_id_for("r1"));
/// assert_eq!(lid.get_version_num(), 5);
/// ```
pub fn linear_id_for(request_id: &str) -> Uuid {
    Uuid::new_v5(&LINEAR_ID_NAMESPACE, request_id.as_bytes())
}

/// The per-contract ordering key of a parsed request: the linear id it creates or targets.
///
/// ```
/// use message_schema::linear_id::{linear_id_for, ordering_key};
/// let create = message_schema::parse::parse_ingress(
///     br#"{"messageName":"CreateContractRequest","requestId":"c1","workflowName":"W","parameters":[],
///          "messageSchemaVersion":"1.0.0"}"#,
/// )
/// .unwrap();
/// assert_eq!(ordering_key(&create), linear_id_for("c1"));
/// ```
pub fn ordering_key(request: &IngressRequest) -> Uuid {
    match request {
        IngressRequest::Create(create) => linear_id_for(&create.request_id),
        IngressRequest::Action(action) => action.contract_ledger_identifier,
        IngressRequest::Read(read) => read.contract_ledger_identifier,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_ingress;

    #[test]
    fn derived_linear_ids_are_stable_and_distinct() {
        assert_eq!(linear_id_for("r1"), linear_id_for("r1"));
        assert_ne!(linear_id_for("r1"), linear_id_for("r2"));
        // Pinned: these must never change, or redelivered creates made before an upgrade would get new ids.
        assert_eq!(
            linear_id_for("4b2c9336-6d16-48b1-99fc-dbafc82cbc1e").get_version_num(),
            5
        );
    }

    #[test]
    fn keys_come_from_the_linear_id_or_the_create() {
        let lid = Uuid::new_v4();
        let action = format!(
            r#"{{"messageName":"CreateContractActionRequest","requestId":"a","contractLedgerIdentifier":"{lid}",
                "workflowFunctionName":"F","parameters":[],"messageSchemaVersion":"1.0.0"}}"#
        );
        assert_eq!(
            ordering_key(&parse_ingress(action.as_bytes()).unwrap()),
            lid
        );
        let read = format!(
            r#"{{"messageName":"ReadContractRequest","requestId":"r","contractLedgerIdentifier":"{lid}",
                "messageSchemaVersion":"1.0.0"}}"#
        );
        assert_eq!(ordering_key(&parse_ingress(read.as_bytes()).unwrap()), lid);
        let create = br#"{"messageName":"CreateContractRequest","requestId":"c1","workflowName":"W","parameters":[],
            "messageSchemaVersion":"1.0.0"}"#;
        assert_eq!(
            ordering_key(&parse_ingress(create).unwrap()),
            linear_id_for("c1")
        );
    }
}
