"""Reference data kept in the package with its origin: reason codes and what they mean."""
