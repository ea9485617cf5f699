//! Ids derived from a request: the ledger command id of its requestId, and the digest that stands in for a missing
//! requestId. (The linear id a create assigns is part of the message contract: `message_schema::linear_id`.)
//!
//! The command id is UUID v5 (SHA-1 name-based) under a fixed namespace, so a redelivered request maps to the same
//! command id, and the ledger's command deduplication turns a second submission into the first one's transaction.

use uuid::Uuid;

/// Namespace for command ids (a fixed random UUID; changing it would change every derived id).
const COMMAND_ID_NAMESPACE: Uuid = Uuid::from_u128(0x0c2e_91f4_3b7a_4d86_a5e1_6c9d_40f2_18e7);

/// Prefix of every command id the gateway submits; the observer uses it to tell its own transactions apart.
pub const COMMAND_ID_PREFIX: &str = "wb-";

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
    use message_schema::linear_id::linear_id_for;

    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        assert_eq!(command_id_for("r1"), command_id_for("r1"));
        assert!(command_id_for("r1").starts_with(COMMAND_ID_PREFIX));
        // The two namespaces differ, so a command id never equals the linear id of the same requestId.
        assert_ne!(
            command_id_for("r1")[COMMAND_ID_PREFIX.len()..],
            linear_id_for("r1").to_string()
        );
    }
}
