"""The SQL store (SQLite or PostgreSQL) behind the unit-of-work port."""
