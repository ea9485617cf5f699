//! Issuing several broker operations in order at the cost of one round trip to lapin's I/O thread instead of one
//! each.
//!
//! lapin gives a publish or an ack its place when the operation's future is first polled: the frames, the publisher
//! confirm sequence number or the internal ack command are queued synchronously, and the future then only waits for
//! the I/O thread to report them written. Awaiting operations one after another therefore costs a cross-thread round
//! trip per operation; polling each once, in order, and then awaiting them together keeps their order on the channel
//! and pays the round trip once. (The queue-order tests and the crash harness's order check would catch a lapin
//! version that stopped queueing on the first poll.)

use std::future::Future;
use std::task::Poll;

use futures::future;

/// Polls every operation once in order (placing them), runs `placed`, then awaits them all; outputs in input order.
pub async fn place_in_order<F: Future>(
    operations: impl IntoIterator<Item = F>,
    placed: impl FnOnce(),
) -> Vec<F::Output> {
    let mut operations: Vec<_> = operations
        .into_iter()
        .map(|op| Box::pin(future::maybe_done(op)))
        .collect();
    std::future::poll_fn(|cx| {
        for op in &mut operations {
            // A finished operation keeps its output inside; the rest are awaited below.
            let _ = op.as_mut().poll(cx);
        }
        Poll::Ready(())
    })
    .await;
    placed();
    let mut outputs = Vec::with_capacity(operations.len());
    for mut op in operations {
        op.as_mut().await;
        outputs.extend(op.as_mut().take_output());
    }
    outputs
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::sync::oneshot;

    use super::*;

    #[tokio::test]
    async fn every_operation_is_placed_in_order_before_any_is_awaited() {
        let first_polls = Arc::new(Mutex::new(Vec::new()));
        let mut senders = Vec::new();
        let mut operations = Vec::new();
        for i in 0..3 {
            let (tx, rx) = oneshot::channel::<usize>();
            senders.push(tx);
            let first_polls = Arc::clone(&first_polls);
            operations.push(async move {
                first_polls.lock().expect("lock").push(i);
                rx.await.expect("value")
            });
        }
        let (placed_tx, placed_rx) = oneshot::channel();
        let task = tokio::spawn(place_in_order(operations, move || {
            let _ = placed_tx.send(());
        }));
        placed_rx
            .await
            .expect("placed before any operation finished");
        assert_eq!(*first_polls.lock().expect("lock"), [0, 1, 2]);
        for (i, tx) in senders.into_iter().enumerate().rev() {
            tx.send(i * 10).expect("send");
        }
        assert_eq!(
            task.await.expect("task"),
            [0, 10, 20],
            "outputs in input order"
        );
    }
}
