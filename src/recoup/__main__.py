"""``python -m recoup``: the same as the ``recoup`` command."""

from recoup.entrypoints.cli.main import run

run()
