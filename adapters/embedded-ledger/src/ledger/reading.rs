//! Reading the ledger: the update stream (stored transactions a chunk at a time, then a live tail) and the active
//! contract set. Both list what to read under the state lock and read it, from memory or the journal, after letting
//! go of it, so a long read never holds up commits; both end with the pruned error when a compaction overtakes them.

use std::sync::Arc;

use futures::StreamExt;
use ledger_port::{
    ActiveContract, ActiveContractStream, Event, LedgerError, PrunedOffset, RejectionReason,
    Transaction, UpdateFilter, UpdateStream,
};

use super::Inner;
use crate::state::{Creation, created_event};
use crate::transaction_log::{Fetch, resolve_all};

/// How many transactions a reader fetches per turn of the state lock.
const READ_CHUNK: usize = 256;

/// Lists where the active contracts are under the lock, then reads them a chunk at a time, from memory or the
/// journal, without holding it, on a blocking thread a few chunks ahead of the reader (so decoding the journal
/// and the reader's own work overlap).
pub(super) fn active_contracts(inner: &Arc<Inner>, filter: &UpdateFilter) -> ActiveContractStream {
    let (offset, creations) = {
        let state = inner.lock();
        (state.durable_end(), state.durable_active())
    };
    // Decoding the journal is most of the work: one reader per core takes every n-th chunk, and the stream
    // takes the chunks back in turn, so the order stays the ledger's.
    let readers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
    let creations = Arc::new(creations);
    let mut receivers = Vec::with_capacity(readers);
    for reader in 0..readers {
        let (chunks, receiver) = tokio::sync::mpsc::channel(2);
        receivers.push(receiver);
        let inner = Arc::clone(inner);
        let filter = filter.clone();
        let creations = Arc::clone(&creations);
        tokio::task::spawn_blocking(move || {
            for chunk in creations.chunks(READ_CHUNK).skip(reader).step_by(readers) {
                let read = read_active_chunk(&inner, offset, chunk, &filter);
                let failed = read.is_err();
                // A closed channel means the stream went away: stop reading.
                if chunks.blocking_send(read).is_err() || failed {
                    break;
                }
            }
            // The ledger before the channel: a reader that has seen the stream end may drop the ledger and open
            // its journal again at once, which needs the journal's lock that `inner` holds.
            drop(inner);
            drop(chunks);
        });
    }
    let contracts = futures::stream::unfold((receivers, 0), |(mut receivers, turn)| async move {
        let count = receivers.len();
        match receivers[turn % count].recv().await {
            Some(chunk) => Some((chunk, (receivers, turn + 1))),
            None => {
                // The end: wait until every reader has let go of the ledger (each closes its channel last), so
                // whoever saw the end can drop the ledger and have its journal's lock released.
                for receiver in &mut receivers {
                    while receiver.recv().await.is_some() {}
                }
                None
            }
        }
    })
    .flat_map(|result| {
        let items: Vec<Result<ActiveContract, LedgerError>> = match result {
            Ok(contracts) => contracts.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        futures::stream::iter(items)
    })
    .scan(false, |failed, item| {
        // After an error the stream ends, as the port promises.
        let next = (!*failed).then_some(item);
        *failed = next.as_ref().is_some_and(Result::is_err);
        futures::future::ready(next)
    })
    .boxed();
    ActiveContractStream { offset, contracts }
}

/// Committed transactions after `begin_exclusive` that `filter` admits: the durable ones a chunk at a time, then new
/// ones as they become durable. Starting before what a compaction kept, or beyond the ledger end, is refused.
pub(super) fn updates(
    inner: &Arc<Inner>,
    begin_exclusive: i64,
    filter: &UpdateFilter,
) -> Result<UpdateStream, LedgerError> {
    let (end, readable_from) = {
        let state = inner.lock();
        (state.durable_end(), state.readable_from())
    };
    if (0..readable_from).contains(&begin_exclusive) {
        return Err(PrunedOffset {
            requested: begin_exclusive,
            earliest: readable_from,
        }
        .into());
    }
    if begin_exclusive < 0 || begin_exclusive > end {
        return Err(LedgerError::permanent(
            RejectionReason::InvalidArgument,
            format!("begin_exclusive {begin_exclusive} is outside the ledger (0 to {end})"),
        )
        .with_ledger_error("OFFSET_OUT_OF_RANGE"));
    }
    let inner = Arc::clone(inner);
    let receiver = inner.end.subscribe();
    let filter = filter.clone();
    let stream = futures::stream::unfold(
        (
            inner,
            receiver,
            begin_exclusive,
            filter,
            std::collections::VecDeque::new(),
        ),
        |(inner, mut receiver, mut cursor, filter, mut buffer)| async move {
            loop {
                if let Some(item) = buffer.pop_front() {
                    return Some((item, (inner, receiver, cursor, filter, buffer)));
                }
                if cursor == i64::MAX {
                    return None;
                }
                // Only durable transactions, a bounded chunk at a time, read from the journal (where they are
                // no longer in memory) after letting go of the lock.
                let chunk = {
                    let state = inner.lock();
                    // A compaction since the last chunk may have pruned past this stream: end it with the
                    // pruned error rather than skip what it can no longer read.
                    let earliest = state.readable_from();
                    if cursor < earliest {
                        buffer.push_back(Err(PrunedOffset {
                            requested: cursor,
                            earliest,
                        }
                        .into()));
                        cursor = i64::MAX;
                        continue;
                    }
                    state.durable_range(cursor, cursor + READ_CHUNK as i64)
                };
                cursor += chunk.len() as i64;
                for fetch in resolve_all(chunk) {
                    match fetch {
                        Ok(tx) => buffer.extend(filtered(&tx, &filter).map(Ok)),
                        Err(e) => {
                            // The stream ends after an error: nothing after it is read.
                            buffer.push_back(Err(e));
                            cursor = i64::MAX;
                            break;
                        }
                    }
                }
                if buffer.is_empty() {
                    let caught_up = *receiver.borrow_and_update() <= cursor;
                    if caught_up && receiver.changed().await.is_err() {
                        return None;
                    }
                }
            }
        },
    );
    Ok(stream.boxed())
}

/// The transaction as `filter` sees it: only admitted events; `None` when none is.
fn filtered(tx: &Transaction, filter: &UpdateFilter) -> Option<Transaction> {
    if filter.templates.is_empty() {
        return Some(tx.clone());
    }
    let events: Vec<Event> = tx
        .events
        .iter()
        .filter(|e| {
            let template = match e {
                Event::Created(c) => &c.template_id,
                Event::Archived(a) => &a.template_id,
                Event::Exercised(x) => &x.template_id,
            };
            filter.admits(template)
        })
        .cloned()
        .collect();
    (!events.is_empty()).then(|| Transaction {
        events,
        ..tx.clone()
    })
}

/// Reads one chunk of the active contracts as of `offset`: each creating transaction once, from memory or the
/// journal, outside the lock; keeps those `filter` admits. A compaction since the set was listed may have pruned the
/// creator of a contract archived after `offset`: then the set can no longer be read, and that is the pruned error
/// (not a contract silently left out).
fn read_active_chunk(
    inner: &Inner,
    offset: i64,
    chunk: &[Creation],
    filter: &UpdateFilter,
) -> Result<Vec<ActiveContract>, LedgerError> {
    let fetches: Vec<(Creation, Option<Fetch>)> = {
        let state = inner.lock();
        if chunk
            .iter()
            .any(|creation| state.is_pruned(creation.index as i64 + 1))
        {
            return Err(PrunedOffset {
                requested: offset,
                earliest: state.readable_from(),
            }
            .into());
        }
        let mut previous = None;
        chunk
            .iter()
            .map(|creation| {
                // Creations come sorted, so those of one transaction are neighbours: fetch it once.
                let fetch = (previous != Some(creation.index)).then(|| state.fetch(creation.index));
                previous = Some(creation.index);
                (*creation, fetch.flatten())
            })
            .collect()
    };
    let starts: Vec<(Creation, bool)> = fetches.iter().map(|(c, f)| (*c, f.is_some())).collect();
    let mut read = resolve_all(fetches.into_iter().filter_map(|(_, f)| f).collect()).into_iter();
    let mut contracts = Vec::with_capacity(chunk.len());
    let mut current: Option<Arc<Transaction>> = None;
    for (creation, starts_transaction) in starts {
        if starts_transaction {
            current = read.next().transpose()?;
        }
        let Some(tx) = current
            .as_ref()
            .filter(|tx| tx.offset == creation.index as i64 + 1)
        else {
            continue;
        };
        if let Some(created) = created_event(tx, creation.node)
            && filter.admits(&created.template_id)
        {
            contracts.push(ActiveContract {
                created: created.clone(),
                created_update_id: tx.update_id.clone(),
            });
        }
    }
    Ok(contracts)
}
