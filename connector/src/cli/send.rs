//! `connector send`: publish ingress messages to the configured queue and print the egress that answers them.
//!
//! Each message goes out with `reply_to` set to a private reply queue; the gateway copies its egress there. The
//! command ends when every message sent has its terminal egress (a ContractMessage or a Failure) or on timeout.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use amqp_transport::AmqpSession;
use anyhow::Context;
use futures::StreamExt;

use crate::config::Config;

/// What to send.
pub struct SendOptions {
    pub config: PathBuf,
    /// JSON Lines of ingress messages; `-` reads standard input.
    pub input: PathBuf,
    /// How long to wait for the answers.
    pub timeout: Duration,
}

/// Sends and prints; returns (messages sent, terminal answers received).
pub async fn send(options: &SendOptions, out: &mut dyn Write) -> anyhow::Result<(usize, usize)> {
    let config = Config::load(&options.config)?;
    let bodies = read_bodies(&options.input)?;
    let session = AmqpSession::connect(&config.amqp)
        .await
        .with_context(|| format!("cannot connect to {}", config.amqp.redacted_url()))?;
    let (reply_queue, mut replies) = session.declare_reply_queue().await?;
    let publisher = session.publisher();
    let run_id = uuid::Uuid::new_v4();
    let mut confirms = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.iter().enumerate() {
        let message_id = format!("send-{run_id}-{i}");
        confirms.push(
            publisher
                .publish_to_queue(
                    &config.amqp.ingress_queue,
                    body,
                    &message_id,
                    None,
                    Some(&reply_queue),
                )
                .await?,
        );
    }
    for confirm in confirms {
        confirm.wait().await?;
    }
    let deadline = tokio::time::Instant::now() + options.timeout;
    let mut terminal = 0;
    while terminal < bodies.len() {
        let next = tokio::time::timeout_at(deadline, replies.next()).await;
        match next {
            Err(_) => break,
            Ok(None) => anyhow::bail!("the reply queue was closed by the broker"),
            Ok(Some(Err(e))) => anyhow::bail!("reading replies: {e}"),
            Ok(Some(Ok(reply))) => {
                out.write_all(&reply.body)?;
                out.write_all(b"\n")?;
                out.flush()?;
                if is_terminal(&reply.body) {
                    terminal += 1;
                }
            }
        }
    }
    let _ = session.close().await;
    Ok((bodies.len(), terminal))
}

/// A request's last egress message: a ContractMessage (created, exercised or read) or a Failure.
fn is_terminal(body: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => {
            v.get("messageName").and_then(|n| n.as_str()) == Some("ContractMessage")
                || v.get("status").and_then(|s| s.as_str()) == Some("Failure")
        }
        Err(_) => false,
    }
}

fn read_bodies(input: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let reader: Box<dyn BufRead> = if input.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(input)
                .with_context(|| format!("cannot open {}", input.display()))?,
        ))
    };
    let mut bodies = Vec::new();
    for line in reader.split(b'\n') {
        let line = line.context("cannot read input")?;
        if !line.iter().all(u8::is_ascii_whitespace) {
            bodies.push(line);
        }
    }
    Ok(bodies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_messages() {
        assert!(is_terminal(br#"{"messageName":"ContractMessage"}"#));
        assert!(is_terminal(br#"{"status":"Failure"}"#));
        assert!(!is_terminal(
            br#"{"messageName":"CreateContractUpdate","status":"Committed"}"#
        ));
        assert!(!is_terminal(b"garbage"));
    }
}
