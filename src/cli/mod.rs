//! The command-line tools: the dry runs (streaming JSON Lines in, one verdict line per input
//! out) and the trail's audit.

pub mod audit;
pub mod classify;
pub mod consent;
pub mod reconcile;
