//! The roles an instance plays when several run one deployment, as `/status` and the metrics show them.
//!
//! **Consumer role.** RabbitMQ does not tell a consumer of a single-active-consumer queue whether it is the active
//! one or a waiting one (AMQP 0-9-1 has no such notification; only the management API lists it). So the role is read
//! from what the broker does: a consumer registered on the queue that has not received a delivery since it (re)connected
//! is `standby`; the first delivery makes it `active`, and it stays active until its session ends (the broker
//! switches the active consumer only when that one goes away). Consequence: the active consumer of an idle queue shows
//! `standby` until the first message arrives; no instance ever shows `active` while another does, except for the
//! moment a dead one's connection takes to be noticed. Without `amqp.single_active_consumer` every consuming instance
//! receives deliveries, so it is `active` as soon as it consumes. Not consuming (no broker session, or processing
//! halted) is `disconnected`.
//!
//! **Observer role.** `leader` publishes observer egress; `follower` waits for the leadership lock
//! (`leadership.observer: postgres`, see `observer/leadership.rs`); `off` is `observe: off`. Without leadership every
//! instance whose observer is on is its own `leader`.

use std::sync::atomic::{AtomicU8, Ordering};

use serde::Serialize;

/// Whether this instance takes deliveries from the ingress queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsumerRole {
    Disconnected,
    Standby,
    Active,
}

/// Whether this instance publishes observer egress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObserverRole {
    Off,
    Follower,
    Leader,
}

impl ConsumerRole {
    fn from_u8(v: u8) -> Self {
        match v {
            2 => Self::Active,
            1 => Self::Standby,
            _ => Self::Disconnected,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Self::Disconnected => 0,
            Self::Standby => 1,
            Self::Active => 2,
        }
    }
}

impl ObserverRole {
    fn from_u8(v: u8) -> Self {
        match v {
            2 => Self::Leader,
            1 => Self::Follower,
            _ => Self::Off,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Self::Off => 0,
            Self::Follower => 1,
            Self::Leader => 2,
        }
    }
}

/// Both roles, readable from any task.
#[derive(Debug, Default)]
pub struct Roles {
    consumer: AtomicU8,
    observer: AtomicU8,
}

impl Roles {
    pub fn consumer(&self) -> ConsumerRole {
        ConsumerRole::from_u8(self.consumer.load(Ordering::Acquire))
    }

    pub fn observer(&self) -> ObserverRole {
        ObserverRole::from_u8(self.observer.load(Ordering::Acquire))
    }

    /// Sets the consumer role; returns the one it replaces.
    pub fn set_consumer(&self, role: ConsumerRole) -> ConsumerRole {
        ConsumerRole::from_u8(self.consumer.swap(role.to_u8(), Ordering::AcqRel))
    }

    /// Sets the observer role; returns the one it replaces.
    pub fn set_observer(&self, role: ObserverRole) -> ObserverRole {
        ObserverRole::from_u8(self.observer.swap(role.to_u8(), Ordering::AcqRel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_start_disconnected_and_off_and_read_back_what_was_set() {
        let roles = Roles::default();
        assert_eq!(roles.consumer(), ConsumerRole::Disconnected);
        assert_eq!(roles.observer(), ObserverRole::Off);
        for role in [
            ConsumerRole::Standby,
            ConsumerRole::Active,
            ConsumerRole::Disconnected,
        ] {
            roles.set_consumer(role);
            assert_eq!(roles.consumer(), role);
        }
        for role in [
            ObserverRole::Follower,
            ObserverRole::Leader,
            ObserverRole::Off,
        ] {
            roles.set_observer(role);
            assert_eq!(roles.observer(), role);
        }
        assert_eq!(
            serde_json::to_value(ConsumerRole::Standby).ok(),
            Some(serde_json::json!("standby"))
        );
    }
}
