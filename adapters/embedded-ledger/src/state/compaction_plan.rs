//! Compaction as the state sees it: deciding under the lock what a compacted journal keeps (the creators of the
//! active contracts, the deduplication window, everything after the readers' floor), and switching the log and the
//! indexes to the compacted journal once it is in place. Writing the file between the two is the ledger's
//! (`ledger::compacting`), in the format of [`crate::compaction`].

use super::{Creation, State};
use crate::journal::{JournalReader, JournalWriter, RECORD_HEADER_LEN, RecordLocation};
use crate::snapshot::Snapshot;

/// What a compaction keeps, decided under the lock; the file is written from it without the lock.
pub(crate) struct CompactionPlan {
    /// The snapshot record to write (`retained` filled in).
    pub snapshot: Snapshot,
    /// The records to keep before the snapshot, by log index, where they are in the current journal.
    pub retained: Vec<(usize, RecordLocation)>,
    /// Reads the current journal.
    pub reader: JournalReader,
    /// Where the records after the snapshot start in the current journal.
    pub tail_start: u64,
    /// How many journal records before the snapshot the plan leaves out.
    pub pruned: u64,
}

impl State {
    /// Decides what a compaction at the durable end keeps: the creators of the contracts active there, the
    /// transactions inside the deduplication window (`window_micros` of effective time before the last one), and
    /// every transaction after `floor` (clamped between the current floor and the durable end).
    pub fn plan_compaction(
        &self,
        floor: i64,
        window_micros: i64,
    ) -> Result<CompactionPlan, String> {
        let Some(writer) = &self.journal else {
            return Err("the ledger is in memory".to_owned());
        };
        if let Some(why) = &self.broken {
            return Err(format!("the ledger stopped: {why}"));
        }
        let end = self.durable_end;
        let end_index = end as usize;
        let readable_from = floor.clamp(self.readable_from, end);
        let mut active: Vec<(String, Creation)> = self
            .active
            .iter()
            .map(|(id, c)| (id.clone(), *c))
            .chain(self.archived_after_durable.iter().flatten().cloned())
            .filter(|(_, c)| c.index < end_index)
            .collect();
        active.sort_unstable_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        active.dedup();
        let window_start = self.window_start(end_index, window_micros)?;
        let mut keep: Vec<usize> = active.iter().map(|(_, c)| c.index).collect();
        keep.extend(window_start.min(readable_from as usize)..end_index);
        keep.sort_unstable();
        keep.dedup();
        let retained: Vec<(usize, RecordLocation)> = keep
            .into_iter()
            .filter_map(|index| self.log.location(index).map(|l| (index, l)))
            .collect();
        let first = self.log.first_unpruned().min(end_index);
        let present = self.log.retained_count() + (end_index - first);
        let pruned = present.saturating_sub(retained.len()) as u64;
        let tail_start = match self.log.location(end_index) {
            Some(first_after) => first_after.position - RECORD_HEADER_LEN as u64,
            None => writer.end(),
        };
        Ok(CompactionPlan {
            snapshot: Snapshot {
                offset: end,
                readable_from,
                retained: retained.len() as u64,
                active: active
                    .into_iter()
                    .map(|(id, c)| (id, c.index as i64 + 1, c.node))
                    .collect(),
            },
            retained,
            reader: writer.reader(),
            tail_start,
            pruned,
        })
    }

    /// The first log index inside the deduplication window ending at `end_index` (exclusive). Effective times grow
    /// with offsets, so a binary search reads a few transactions instead of all of them: first among the records
    /// from the last snapshot on, then, when the window reaches back past the snapshot, among the records retained
    /// below it (which are in offset order too), so a record kept once for the window is pruned once it leaves it.
    fn window_start(&self, end_index: usize, window_micros: i64) -> Result<usize, String> {
        let effective_at = |index: usize| -> Result<i64, String> {
            match self.log.get(index) {
                Ok(Some(tx)) => Ok(tx.effective_at_micros),
                Ok(None) => Err(format!("offset {} is not in the log", index + 1)),
                Err(e) => Err(e.message),
            }
        };
        let first = self.log.first_unpruned().min(end_index);
        if end_index == first {
            return Ok(0);
        }
        let cutoff = effective_at(end_index - 1)?.saturating_sub(window_micros);
        let (mut low, mut high) = (first, end_index - 1);
        while low < high {
            let middle = low + (high - low) / 2;
            if effective_at(middle)? >= cutoff {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        if low != first {
            return Ok(low);
        }
        let below: Vec<usize> = self.log.retained_indexes().collect();
        let (mut low, mut high) = (0, below.len());
        while low < high {
            let middle = low + (high - low) / 2;
            if effective_at(below[middle])? >= cutoff {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        Ok(match below.get(low) {
            Some(_) if low == 0 => 0,
            Some(index) => *index,
            None => first,
        })
    }

    /// Switches to the compacted journal `writer` holds (already installed and synced): the log becomes sparse
    /// below the snapshot, the records after it moved by `shift` bytes, the indexes forget pruned transactions.
    pub fn install_compaction(
        &mut self,
        snapshot: &Snapshot,
        retained: Vec<(usize, RecordLocation)>,
        shift: i64,
        writer: JournalWriter,
    ) {
        self.log.compacted(
            writer.reader(),
            snapshot.offset.max(0) as usize,
            retained,
            shift,
        );
        let log = &self.log;
        self.by_command.retain(|index| !log.is_pruned(index));
        self.by_update.retain(|index| !log.is_pruned(index));
        self.journal = Some(writer);
        self.readable_from = snapshot.readable_from;
        // Everything written is in the synced new file.
        let written = self.written_end();
        self.mark_durable(written);
    }
}
