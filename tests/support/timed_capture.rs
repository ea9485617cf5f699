//! A capture that runs beside the test: every egress message is taken off the capture queue the moment the broker
//! delivers it and stamped with the time it arrived, so a test can tell what arrived before and after an event (a
//! SIGKILL) while it does other things (restarting a gateway, polling `/status`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};
use lapin::types::FieldTable;

use super::{Broker, Captured};

pub struct TimedCapture {
    got: Arc<Mutex<Vec<(Instant, Captured)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TimedCapture {
    /// Starts consuming `queue` on a channel of `broker`'s connection.
    pub async fn start(broker: &Broker, queue: &str) -> Self {
        let channel = broker
            .connection
            .create_channel()
            .await
            .expect("a channel for the capture");
        let mut consumer = channel
            .basic_consume(
                queue.into(),
                format!("timed-capture-{}", uuid::Uuid::new_v4())
                    .as_str()
                    .into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consuming the capture queue");
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        let task = tokio::spawn(async move {
            // The channel lives as long as the task: dropping it would cancel the consumer.
            let _channel = channel;
            while let Some(Ok(delivery)) = consumer.next().await {
                let arrived = Instant::now();
                let captured = Captured::from_delivery(&delivery);
                sink.lock().expect("capture lock").push((arrived, captured));
                let _ = delivery.ack(BasicAckOptions::default()).await;
            }
        });
        Self { got, task }
    }

    /// How many messages have arrived.
    pub fn len(&self) -> usize {
        self.got.lock().expect("capture lock").len()
    }

    /// The messages from index `from` on (with their arrival times), for incremental scans.
    pub fn since(&self, from: usize) -> Vec<(Instant, Captured)> {
        let got = self.got.lock().expect("capture lock");
        got[from.min(got.len())..].to_vec()
    }

    /// The arrival time of the last message, if any.
    pub fn last_arrival(&self) -> Option<Instant> {
        self.got
            .lock()
            .expect("capture lock")
            .last()
            .map(|(t, _)| *t)
    }

    /// Stops consuming and returns everything captured, in arrival order.
    pub fn stop(self) -> Vec<(Instant, Captured)> {
        self.task.abort();
        std::mem::take(&mut *self.got.lock().expect("capture lock"))
    }
}
