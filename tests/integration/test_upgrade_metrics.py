"""A store that had cases before the metric summaries existed gets them once, on upgrade."""

from __future__ import annotations

from alembic import command

from recoup.adapters.store import migrate
from recoup.bootstrap import App
from recoup.services.metrics import read_metrics
from tests.integration.test_worker import actions, ingest


def test_upgrading_across_the_summaries_computes_them_from_the_cases(app: App) -> None:
    ingest(app, 3)
    expected = read_metrics(reader=app.reader, clock=app.clock)
    assert expected.cases == 3
    with app.engine.begin() as conn:  # back to before the summaries (and everything after)
        command.downgrade(migrate._config(conn), "0008")

    before, after = app.upgrade_schema()

    assert (before, after) == ("0008", migrate.head_revision())
    metrics = read_metrics(reader=app.reader, clock=app.clock)
    assert (metrics.cases, metrics.open_cases) == (expected.cases, expected.open_cases)
    assert actions(app).count("metrics.rebuilt") == 1
    assert app.upgrade_schema() == (after, after)
    assert actions(app).count("metrics.rebuilt") == 1  # a current schema rebuilds nothing
