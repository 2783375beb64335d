"""Reports and figures from results on disk or in memory; never re-simulates."""
