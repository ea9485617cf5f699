//! Ids derived from a requestId: the linear id a create assigns and the ledger command id.
//!
//! Both are UUID v5 (SHA-1 name-based) under fixed namespaces, so a redelivered request maps to the same linear id
//! and the same command id, and the ledger's command deduplication turns a second submission into the first one's
//! transaction.

use uuid::Uuid;

/// Namespace for linear ids (a fixed random UUID; changing it would change every derived id).
const LINEAR_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5d4b_63a0_6f1e_4c5e_9a0b_2f6e_8d1c_7b31);
/// Namespace for command ids.
const COMMAND_ID_NAMESPACE: Uuid = Uuid::from_u128(0x0c2e_91f4_3b7a_4d86_a5e1_6c9d_40f2_18e7);

/// Prefix of every command id the gateway submits; the observer uses it to tell its own transactions apart.
pub const COMMAND_ID_PREFIX: &str = "wb-";

/// The linear id a `CreateContractRequest` assigns.
pub fn linear_id_for(request_id: &str) -> Uuid {
    Uuid::new_v5(&LINEAR_ID_NAMESPACE, request_id.as_bytes())
}

/// The ledger command id of a request.
pub fn command_id_for(request_id: &str) -> String {
    format!(
        "{COMMAND_ID_PREFIX}{}",
        Uuid::new_v5(&COMMAND_ID_NAMESPACE, request_id.as_bytes())
    )
}

/// A stable origin for the message id of a Failure that has no requestId.
pub fn body_digest(body: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    message_schema::ids::lower_hex(&digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        assert_eq!(linear_id_for("r1"), linear_id_for("r1"));
        assert_ne!(linear_id_for("r1"), linear_id_for("r2"));
        assert_eq!(command_id_for("r1"), command_id_for("r1"));
        assert!(command_id_for("r1").starts_with(COMMAND_ID_PREFIX));
        // Pinned: these must never change, or redelivered creates made before an upgrade would get new ids.
        assert_eq!(
            linear_id_for("4b2c9336-6d16-48b1-99fc-dbafc82cbc1e").get_version_num(),
            5
        );
        assert_ne!(
            command_id_for("r1")[COMMAND_ID_PREFIX.len()..],
            linear_id_for("r1").to_string()
        );
    }
}
