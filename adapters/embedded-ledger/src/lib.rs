//! The embedded ledger: an in-process ledger with the shape of a Daml ledger (templates, contracts, transactions of
//! created/archived/exercised events, offsets, an update stream, command deduplication), in memory or durable through
//! a checksummed journal that compacts to a snapshot of the active set. Choice semantics come from a [`TemplateCatalog`] built from the workflow mapping.

mod catalog;
mod compaction;
mod condition;
mod faults;
mod group_commit;
mod hash_index;
mod interpret;
mod journal;
mod journal_lock;
mod ledger;
mod recovery;
mod snapshot;
mod state;
mod transaction_log;

pub use catalog::{ChoiceKind, ChoiceSpec, FieldValue, Rule, TemplateCatalog, TemplateSpec};
pub use compaction::{CompactError, CompactionPolicy, CompactionReport};
pub use condition::{CmpOp, Condition, ConditionError, Operand};
pub use faults::{FaultKind, FaultPlan, FaultRule};
pub use interpret::{contract_id, interpret};
pub use ledger::{CompactionFloor, EmbeddedLedger};
pub use recovery::{OpenError, RecoveryReport, TruncatedTail};
