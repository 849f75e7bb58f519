"""Every log record Recoup's process writes passes through :func:`redact_text`.

Installed as a log record factory rather than a handler filter, so it covers every logger and
every handler, including ones libraries add later, and costs nothing for records below the
level (the factory only runs for records that will be emitted).
"""

from __future__ import annotations

import logging
from typing import Any

from recoup.domain.privacy import redact_text

_installed = False


def install_log_redaction() -> None:
    """Idempotent: the second call does nothing."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the caller's bug; keep the raw message
            message = str(record.msg)
        redacted = redact_text(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
