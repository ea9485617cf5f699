//! A compact text → log index map: keys are kept as 64-bit hashes, not as text, so 100,000 command ids or update
//! ids cost a few megabytes instead of tens.
//!
//! A hash names candidates, not an answer: the caller loads each candidate transaction and compares the real key.
//! Two different keys with one hash (rare, but requests come from outside) both stay findable through `overflow`.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

/// Maps keys to log indexes through their hashes; see the module docs.
#[derive(Default)]
pub(crate) struct HashIndex {
    hasher: RandomState,
    first: HashMap<u64, usize>,
    /// Further indexes whose key hashed like an earlier, different key.
    overflow: HashMap<u64, Vec<usize>>,
}

impl HashIndex {
    /// Records that `key` belongs to the transaction at `index`. The caller has checked `key` is not present yet.
    pub fn insert(&mut self, key: &str, index: usize) {
        let hash = self.hasher.hash_one(key);
        if let std::collections::hash_map::Entry::Vacant(slot) = self.first.entry(hash) {
            slot.insert(index);
        } else {
            self.overflow.entry(hash).or_default().push(index);
        }
    }

    /// Drops every index `keep` says no to (a compaction pruned its transaction).
    pub fn retain(&mut self, keep: impl Fn(usize) -> bool) {
        self.first.retain(|_, index| keep(*index));
        self.overflow.retain(|_, indexes| {
            indexes.retain(|index| keep(*index));
            !indexes.is_empty()
        });
    }

    /// The indexes that may hold `key`, oldest first; the caller compares the real key.
    pub fn candidates(&self, key: &str) -> impl Iterator<Item = usize> + '_ {
        let hash = self.hasher.hash_one(key);
        self.first
            .get(&hash)
            .copied()
            .into_iter()
            .chain(self.overflow.get(&hash).into_iter().flatten().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_share_a_hash_both_stay_findable() {
        let mut index = HashIndex::default();
        index.insert("a", 0);
        // Force a collision: file an unrelated key under "a"'s hash, as a real collision would.
        let hash = index.hasher.hash_one("a");
        index.overflow.entry(hash).or_default().push(7);
        index.insert("b", 1);
        assert_eq!(index.candidates("a").collect::<Vec<_>>(), vec![0, 7]);
        assert_eq!(index.candidates("b").collect::<Vec<_>>(), vec![1]);
        assert_eq!(index.candidates("c").count(), 0);
    }

    #[test]
    fn a_second_key_with_the_same_hash_goes_to_overflow() {
        let mut index = HashIndex::default();
        index.insert("same", 3);
        index.insert("same", 9);
        assert_eq!(index.candidates("same").collect::<Vec<_>>(), vec![3, 9]);
    }
}
