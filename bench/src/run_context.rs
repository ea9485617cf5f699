//! What every part of one `gateway-bench` run shares: the options, the broker connection, the run's id, the
//! mapping's `workflows:` block and the `connector` binary. The workload runs (`run.rs`) and the ordering comparison
//! (`comparison.rs`) both take it, so neither has to reach into the other.

use std::path::Path;

use crate::broker::Broker;
use crate::options::Options;

/// What every part of a run shares.
pub struct Bench<'a> {
    pub options: &'a Options,
    pub broker: &'a Broker,
    /// Prefixes every queue, exchange and request id of the run.
    pub run_id: &'a str,
    /// The mapping's `workflows:` block.
    pub workflows: &'a str,
    pub connector: &'a Path,
}
