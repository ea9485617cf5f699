//! Dropping deeply nested AMQP values without overflowing a stack.
//!
//! A table or array nested N levels deep is dropped by N nested calls, and the AMQP types give no way to take their
//! children out and drop them in a loop. Values nested deeper than [`SAFE_DEPTH`] are therefore handed to one
//! thread whose stack holds the deepest value a frame can carry, and dropped there.

use std::sync::OnceLock;
use std::sync::mpsc::{Sender, channel};

use lapin::BasicProperties;

/// Nesting any thread's stack drops safely (a few hundred bytes per level on a 2 MiB stack, with room to spare).
pub const SAFE_DEPTH: usize = 256;

/// The dropping thread's stack: a 128 KiB header frame nests at most ~26,000 levels.
const DROPPER_STACK_BYTES: usize = 512 * 1024 * 1024;

static DROPPER: OnceLock<Option<Sender<BasicProperties>>> = OnceLock::new();

/// Drops `properties` on the dropping thread (or here, should that thread not start).
pub fn release(properties: BasicProperties) {
    let dropper = DROPPER.get_or_init(|| {
        let (tx, rx) = channel::<BasicProperties>();
        std::thread::Builder::new()
            .name("deep-value-dropper".to_owned())
            .stack_size(DROPPER_STACK_BYTES)
            .spawn(move || {
                while let Ok(properties) = rx.recv() {
                    drop(properties);
                }
            })
            .ok()
            .map(|_| tx)
    });
    match dropper {
        Some(tx) => {
            if let Err(returned) = tx.send(properties) {
                drop(returned.0);
            }
        }
        None => drop(properties),
    }
}
