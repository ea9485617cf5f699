//! The 64-bit id rules of the Workbench egress format.
//!
//! "First 8 bytes" means the first 8 bytes of a SHA-256 digest read as a big-endian unsigned integer. These ids are
//! not unique by construction (64 bits); the full hashes and the linear id are.

use sha2::{Digest, Sha256};
use uuid::Uuid;

fn first_8_bytes(digest: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes)
}

/// `contractId`: first 8 bytes of SHA-256 over the 16 raw bytes of the linear id (most significant byte first).
///
/// ```
/// let lid = uuid::Uuid::parse_str("27b3b7ad-10ce-4bd4-a72c-1bf215709a21").unwrap();
/// assert_eq!(message_schema::ids::contract_id(&lid), 6160331808014087866);
/// ```
pub fn contract_id(linear_id: &Uuid) -> u64 {
    first_8_bytes(&Sha256::digest(linear_id.as_bytes()))
}

/// `caller.id`: first 8 bytes of SHA-256 over the UTF-8 of the acting party's identifier.
///
/// ```
/// assert_eq!(message_schema::ids::caller_id("O=Member 1, L=London, C=GB"), 7328581509030029143);
/// ```
pub fn caller_id(party: &str) -> u64 {
    first_8_bytes(&Sha256::digest(party.as_bytes()))
}

/// `transactionHash` / `blockhash`: `"0x"` + upper-case hex of SHA-256 over the UTF-8 of the ledger's update id.
///
/// ```
/// let hash = message_schema::ids::transaction_hash("1220abcd");
/// assert!(hash.starts_with("0x") && hash.len() == 66);
/// ```
pub fn transaction_hash(update_id: &str) -> String {
    hash_text(&Sha256::digest(update_id.as_bytes()))
}

fn hash_text(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(2 + digest.len() * 2);
    out.push_str("0x");
    for b in digest {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xf) as usize] as char);
    }
    out
}

/// Lower-case hex of `bytes`, in one allocation (update ids, message ids and digests are written this way).
///
/// ```
/// assert_eq!(message_schema::ids::lower_hex(&[0x00, 0xab, 0xff]), "00abff");
/// ```
pub fn lower_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xf) as usize] as char);
    }
    out
}

/// `transactionId` / `blockId`: the first 8 bytes of a transaction hash (no second hashing). A text that is not
/// `0x` + hex yields 0 rather than panicking; every hash this crate produces is well formed.
///
/// ```
/// let ff = format!("0x{}", "FF".repeat(32));
/// assert_eq!(message_schema::ids::transaction_id(&ff), 18446744073709551615);
/// ```
pub fn transaction_id(transaction_hash: &str) -> u64 {
    let hex = transaction_hash
        .strip_prefix("0x")
        .unwrap_or(transaction_hash);
    hex.get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0)
}

/// The transaction hash and id of one ledger update, computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionIds {
    pub hash: String,
    pub id: u64,
}

impl TransactionIds {
    /// The ids of the update with this id.
    ///
    /// ```
    /// let ids = message_schema::ids::TransactionIds::from_update_id("some-update");
    /// assert_eq!(ids.id, message_schema::ids::transaction_id(&ids.hash));
    /// ```
    pub fn from_update_id(update_id: &str) -> Self {
        let digest = Sha256::digest(update_id.as_bytes());
        Self {
            hash: hash_text(&digest),
            id: first_8_bytes(&digest),
        }
    }

    /// Ids from a raw 32-byte digest (the reference examples use 32 bytes of 0xFF).
    ///
    /// ```
    /// let ids = message_schema::ids::TransactionIds::from_digest(&[0xFF; 32]);
    /// assert_eq!(ids.id, u64::MAX);
    /// ```
    pub fn from_digest(digest: &[u8; 32]) -> Self {
        Self {
            hash: hash_text(digest),
            id: first_8_bytes(digest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples_from_the_spec() {
        let a = Uuid::parse_str("27b3b7ad-10ce-4bd4-a72c-1bf215709a21").unwrap();
        assert_eq!(contract_id(&a), 6160331808014087866);
        let b = Uuid::parse_str("f1a27656-3b1a-4469-8e37-04d9e2764bf6").unwrap();
        assert_eq!(contract_id(&b), 2811001252204837533);
        assert_eq!(caller_id("O=Member 1, L=London, C=GB"), 7328581509030029143);
        let ff = TransactionIds::from_digest(&[0xFF; 32]);
        assert_eq!(ff.id, 18446744073709551615);
        assert_eq!(ff.hash, format!("0x{}", "FF".repeat(32)));
        assert_eq!(transaction_id(&ff.hash), 18446744073709551615);
    }

    #[test]
    fn contract_id_hashes_bytes_not_text() {
        let a = Uuid::parse_str("27b3b7ad-10ce-4bd4-a72c-1bf215709a21").unwrap();
        assert_ne!(
            contract_id(&a),
            caller_id("27b3b7ad-10ce-4bd4-a72c-1bf215709a21")
        );
    }

    #[test]
    fn transaction_ids_agree() {
        let ids = TransactionIds::from_update_id("1220f00d");
        assert_eq!(ids.hash, transaction_hash("1220f00d"));
        assert_eq!(ids.id, transaction_id(&ids.hash));
        assert!(
            ids.hash[2..]
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert_eq!(transaction_id("garbage"), 0);
        assert_eq!(transaction_id(""), 0);
    }
}
