//! The dry-run command-line tools: streaming JSON Lines in, one verdict line per input out.

pub mod classify;
pub mod consent;
