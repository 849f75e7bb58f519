"""Pure business logic: no database, framework, environment or wall clock in here."""
