"""Personal data kept out of logs, and raw payloads redacted after their retention period.

Two different jobs:

* :func:`redact_text` masks what must never appear in a log line: full card numbers (first six
  and last four kept, as at ingest), e-mail addresses (first letter and domain kept) and IBANs
  (country, check digits and last four kept). It is applied to every formatted log message.
* :func:`retention_stub` replaces a raw payload older than the retention period with a small
  JSON document that keeps its SHA-256 digest and size. The normalised event (amounts, refs,
  reason codes) stays, so cases, reconciliation and the audit chain are unaffected: audit records
  never embed raw payloads, and their hash chain still verifies. The digest lets someone holding
  the original file prove it is the one that was received.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

from recoup.domain.ingestion.cards import mask_card_numbers

_EMAIL = re.compile(r"(?<![\w.+-])([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# Compact (DE89370400440532013000) or printed in groups of four (GB29 NWBK 6016 1331 9268 19).
_IBAN = re.compile(r"\b([A-Z]{2}\d{2})([A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b")

RETENTION_MARK = "recoup:redacted"


def _iban(match: re.Match[str]) -> str:
    """Keep the country, the check digits and the last four characters."""
    rest = match.group(2)
    keep, seen = len(rest), 0
    while seen < 4:
        keep -= 1
        seen += rest[keep] != " "
    return match.group(1) + re.sub(r"[A-Z0-9]", "*", rest[:keep]) + rest[keep:]


def redact_text(text: str) -> str:
    """``text`` with card numbers, e-mail addresses and IBANs masked."""
    text = mask_card_numbers(text)
    if "@" in text:
        text = _EMAIL.sub(r"\1***@\2", text)
    return _IBAN.sub(_iban, text)


def retention_stub(raw: str, at: datetime) -> str:
    """What a raw payload becomes once its retention period is over."""
    data = raw.encode("utf-8", "surrogatepass")
    return json.dumps(
        {
            RETENTION_MARK: True,
            "at": at.isoformat(),
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
        },
        sort_keys=True,
    )


def is_redacted(raw: str) -> bool:
    return raw.startswith("{") and f'"{RETENTION_MARK}": true' in raw[:200]
