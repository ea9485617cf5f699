//! Reading the dead-letter queue without removing what is read: letters are fetched unacked on a channel of their
//! own, and closing that channel hands every letter not removed back to the broker.
//!
//! `basic.get` rather than a consumer, because a get says when the queue is empty, so a reader never waits for a
//! letter that will not come. Unacked letters go back when the channel closes; a classic queue (the dead-letter
//! queue is declared classic, even beside a quorum ingress queue: `queue_arguments.rs`) puts them back at their
//! original positions, so reading keeps the queue's order, whereas rejecting them one by one would not, and a quorum
//! queue would not either (it appends returned messages at its tail).

use lapin::Channel;
use lapin::options::BasicGetOptions;
use lapin::types::AMQPValue;

use crate::delivery::{IngressDelivery, to_delivery};
use crate::error::TransportError;
use crate::properties::name;

/// One letter read from the dead-letter queue, still on it until [`DeadLetterReader::remove`].
pub struct DeadLetter {
    pub delivery: IngressDelivery,
    /// The AMQP `timestamp` property, when set (the gateway's own copies carry none).
    pub timestamp_secs: Option<u64>,
    /// The `time` of the newest `x-death` entry, when the broker dead-lettered the original itself.
    pub death_time_secs: Option<u64>,
    /// Letters ready in the queue behind this one when it was read, as the broker counted them.
    pub left_behind: u32,
}

/// Fetches the letters of one queue in order; see the module comment for why nothing is lost by reading.
pub struct DeadLetterReader {
    channel: Channel,
    queue: String,
    generation: u64,
}

impl DeadLetterReader {
    pub(crate) fn new(channel: Channel, queue: String, generation: u64) -> Self {
        Self {
            channel,
            queue,
            generation,
        }
    }

    /// The next letter, or None when none is left to read.
    pub async fn next(&self) -> Result<Option<DeadLetter>, TransportError> {
        let got = self
            .channel
            .basic_get(
                name("amqp.dead_letter_queue", &self.queue)?,
                BasicGetOptions { no_ack: false },
            )
            .await
            .map_err(|e| TransportError::lost(&format!("reading queue {:?}", self.queue), e))?;
        let Some(got) = got else {
            return Ok(None);
        };
        let left_behind = got.message_count;
        let props = &got.delivery.properties;
        let timestamp_secs = props.timestamp().filter(|t| *t > 0);
        let death_time_secs = props
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get("x-death"))
            .and_then(newest_death_time);
        Ok(Some(DeadLetter {
            delivery: to_delivery(got.delivery, self.generation),
            timestamp_secs,
            death_time_secs,
            left_behind,
        }))
    }

    /// Removes a letter from the queue for good (acks it).
    pub async fn remove(&self, letter: &DeadLetter) -> Result<(), TransportError> {
        letter.delivery.ack().await
    }

    /// Hands every letter read and not removed back to the queue, in its place.
    pub async fn close(self) -> Result<(), TransportError> {
        self.channel
            .close(200, "dead letters read".into())
            .await
            .map_err(|e| TransportError::lost("closing the dead-letter channel", e))
    }
}

/// `x-death` is an array of tables, newest first; a sender may have put anything there, so each step is checked.
fn newest_death_time(x_death: &AMQPValue) -> Option<u64> {
    let AMQPValue::FieldArray(entries) = x_death else {
        return None;
    };
    let AMQPValue::FieldTable(entry) = entries.as_slice().first()? else {
        return None;
    };
    match entry.inner().get("time")? {
        AMQPValue::Timestamp(t) => Some(*t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::{FieldArray, FieldTable};

    #[test]
    fn death_time_is_read_only_from_the_expected_shape() {
        let mut entry = FieldTable::default();
        entry.insert("time".into(), AMQPValue::Timestamp(1_700_000_000));
        let good = AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(entry)]));
        assert_eq!(newest_death_time(&good), Some(1_700_000_000));
        assert_eq!(newest_death_time(&AMQPValue::LongInt(3)), None);
        let empty = AMQPValue::FieldArray(FieldArray::from(Vec::<AMQPValue>::new()));
        assert_eq!(newest_death_time(&empty), None);
        let mut wrong = FieldTable::default();
        wrong.insert("time".into(), AMQPValue::LongString("soon".into()));
        let wrong = AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(wrong)]));
        assert_eq!(newest_death_time(&wrong), None);
    }
}
