"""Use cases: load, call the domain, commit. One function per thing a user can ask for."""
