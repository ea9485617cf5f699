//! Which ledger transactions the contract index already holds, so that each is applied once although two writers
//! apply them: the processor (its own transactions, the moment they are sequenced, so the next request is mapped on
//! top of them) and the index follower (every transaction of the update stream, in offset order, later).
//!
//! Applying a transaction twice is not harmless: re-applying an old create after its lineage was archived brings
//! the lineage back. So the index remembers the offset it holds everything up to (`through`: the active contract set
//! it was loaded from, then what the follower applied) and, while a follower runs, the offsets the processor applied
//! ahead of it. The follower skips those; the processor skips anything at or before `through` (a redelivered
//! request's original transaction, returned by the ledger's deduplication).
//!
//! Without a follower (`connector process`, `test`, `explain`) nothing is remembered ahead: nobody would ever take
//! it back out.

use std::collections::BTreeSet;

/// The offsets the index holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AppliedOffsets {
    through: i64,
    following: bool,
    ahead: BTreeSet<i64>,
}

impl AppliedOffsets {
    /// Everything up to `offset` is held (an active contract set read at that offset).
    pub fn loaded_at(offset: i64) -> Self {
        Self {
            through: offset,
            following: false,
            ahead: BTreeSet::new(),
        }
    }

    /// A follower applies the update stream from now on.
    pub fn start_following(&mut self) {
        self.following = true;
    }

    /// Whether a follower applies the update stream.
    pub fn is_following(&self) -> bool {
        self.following
    }

    /// The offset up to which every transaction is held.
    pub fn through(&self) -> i64 {
        self.through
    }

    /// How many of the processor's transactions wait for the follower to pass them.
    pub fn ahead(&self) -> usize {
        self.ahead.len()
    }

    /// The processor's own transaction at `offset`: whether to apply it.
    pub fn take_own(&mut self, offset: i64) -> bool {
        if offset <= self.through {
            return false;
        }
        if self.following {
            // A second apply of the same transaction (it cannot happen today) is refused like the follower's.
            return self.ahead.insert(offset);
        }
        true
    }

    /// The follower's next transaction at `offset` (offsets only grow): whether to apply it.
    pub fn take_followed(&mut self, offset: i64) -> bool {
        if offset <= self.through {
            return false;
        }
        self.through = offset;
        // Anything the processor applied below this offset was passed without being seen (a filtered stream skips
        // offsets): forget it too, so the set stays bounded by what is really ahead.
        let applied_by_processor = self.ahead.remove(&offset);
        self.ahead = self.ahead.split_off(&offset);
        !applied_by_processor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_offset_is_applied_once_whoever_comes_first() {
        let mut applied = AppliedOffsets::loaded_at(10);
        applied.start_following();
        assert!(!applied.take_own(9), "in the loaded active set already");
        assert!(!applied.take_own(10));
        assert!(
            applied.take_own(12),
            "the processor is ahead of the follower"
        );
        assert!(!applied.take_own(12), "never twice");
        assert_eq!(applied.ahead(), 1);
        assert!(applied.take_followed(11), "another instance's transaction");
        assert!(
            !applied.take_followed(12),
            "applied by the processor already"
        );
        assert_eq!(applied.through(), 12);
        assert_eq!(applied.ahead(), 0);
        assert!(
            !applied.take_own(12),
            "a redelivered request's original, returned by deduplication"
        );
        assert!(applied.take_followed(13));
        assert!(!applied.take_own(13), "the follower was first");
        assert!(!applied.take_followed(13), "offsets only grow");
    }

    #[test]
    fn offsets_the_follower_never_sees_do_not_pile_up() {
        let mut applied = AppliedOffsets::loaded_at(0);
        applied.start_following();
        assert!(applied.take_own(3));
        assert!(applied.take_own(5));
        assert!(applied.take_followed(4));
        assert_eq!(
            applied.ahead(),
            1,
            "3 is behind the follower now: forgotten"
        );
        assert!(!applied.take_followed(5));
        assert_eq!(applied.ahead(), 0);
    }

    #[test]
    fn without_a_follower_nothing_is_remembered_ahead() {
        let mut applied = AppliedOffsets::loaded_at(5);
        assert!(applied.take_own(6));
        assert!(applied.take_own(7));
        assert_eq!(applied.ahead(), 0);
        assert!(!applied.take_own(5));
    }
}
