"""Per-request log, usage ledger, summaries."""
