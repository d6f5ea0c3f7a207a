//! Persistence. (in progress)
