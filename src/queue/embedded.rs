//! Embedded durable queue. STUB: the embedded-queue helper replaces this file.
