"""The ``recoup`` command line."""
