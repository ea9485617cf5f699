//! `connector dead-letters list|replay`: one JSON line per letter on stdout; the walk itself is in
//! `crate::dead_letters`, shared with `POST /dead-letters/replay`.

use std::io::Write;
use std::path::Path;

use amqp_transport::AmqpSession;
use anyhow::Context;

use crate::config::Config;
use crate::dead_letters::{
    ReplayCounts, ReplayFilter, list_letters, replay_letters, replay_summary,
};

async fn connect(config: &Config) -> anyhow::Result<AmqpSession> {
    AmqpSession::connect(&config.amqp)
        .await
        .with_context(|| format!("cannot connect to {}", config.amqp.redacted_url()))
}

/// Prints one JSON line per letter in queue order (at most `limit`), removing nothing; returns how many.
pub async fn list_dead_letters(
    config: &Path,
    limit: Option<usize>,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let config = Config::load(config)?;
    let session = connect(&config).await?;
    let listed = list_letters(&session, limit, |line| Ok(writeln!(out, "{line}")?)).await;
    let _ = session.close().await;
    listed
}

/// Moves the letters `filter` chooses back to the ingress queue (or, with `dry_run`, only says which), printing one
/// JSON line per letter moved and a summary line.
pub async fn replay_dead_letters(
    config: &Path,
    filter: &ReplayFilter,
    dry_run: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ReplayCounts> {
    if filter.is_empty() {
        anyhow::bail!(
            "dead-letters replay needs --code, --request-id or --all (refusing to guess which letters to move)"
        );
    }
    let config = Config::load(config)?;
    let session = connect(&config).await?;
    let ingress = config.amqp.ingress_queue.clone();
    let replayed = replay_letters(&session, &ingress, filter, dry_run, |line| {
        Ok(writeln!(out, "{line}")?)
    })
    .await;
    let _ = session.close().await;
    let counts = replayed?;
    writeln!(out, "{}", replay_summary(&counts, dry_run, &ingress))?;
    Ok(counts)
}
