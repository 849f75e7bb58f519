"""Schema migrations, run in-process with Alembic."""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory


def _config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    location = resources.files("recoup.adapters.store").joinpath("migrations")
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> tuple[str | None, str]:
    """Bring the schema to ``revision``; return (before, after)."""
    before = current_revision(engine)
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)
    return before, head_revision() if revision == "head" else revision


def revision(engine: sa.Engine, message: str) -> None:
    """Autogenerate a new migration from the models (a maintainer's tool)."""
    with engine.begin() as conn:
        command.revision(_config(conn), message=message, autogenerate=True)
