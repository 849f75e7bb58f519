"""The reconciliation engine on DuckDB, its rules file, and synthetic data."""
