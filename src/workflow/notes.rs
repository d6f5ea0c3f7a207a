//! Note rendering. STUB: the state-machine helper replaces this file.
