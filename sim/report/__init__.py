"""What a reader sees: console tables, ``report.md``, figures, and the output files."""
