"""Numbers from finished runs: summaries, billing, invariants, stability, steady-state rates,
pipeline and shadow tables, the replica ledger and events as frames."""
