//! The command-line tools: the dry runs (streaming JSON Lines in, one verdict line per input
//! out), the trail's audit and the receiver's connection check.

pub mod audit;
pub mod classify;
pub mod consent;
pub mod dead_letters;
pub mod notes;
pub mod reconcile;
pub mod server;
pub mod zendesk_check;
