"""One month of a mid-size online merchant's payment events, as canonical JSON lines.

The demo, the benchmarks and the tutorials need a feed that looks like production (declines with
real network codes, retries that sometimes recover, disputes, refunds, a few double charges,
daily payouts) without anyone's real data. Everything here is derived from ``DemoSpec.seed`` alone:
no global random state, no wall clock, no ``uuid4``, so the same spec always gives the same bytes
and a finding seen in one run can be found again in the next.

Work is done in integer seconds (from ``spec.start``) and integer minor units, so sorting is cheap,
amounts are exact and the payout totals add up to the cent.

This module writes the month; the rate tables and code mixes are in ``demo_rates`` (the decline
tables re-exported here), the spec in ``demo_spec``, the simulation in ``demo_simulation`` and
its building blocks in ``demo_tools``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import msgspec

# Names imported "as" themselves are re-exported: tests import them from this module.
from recoup.adapters.simulation.demo_rates import (
    DUPLICATE_WINDOW_SECONDS as DUPLICATE_WINDOW_SECONDS,
)
from recoup.adapters.simulation.demo_rates import EXTERNAL_ID_PREFIX
from recoup.adapters.simulation.demo_rates import MASTERCARD_DECLINES as MASTERCARD_DECLINES
from recoup.adapters.simulation.demo_rates import STRIPE_DECLINES as STRIPE_DECLINES
from recoup.adapters.simulation.demo_rates import VISA_DECLINES as VISA_DECLINES
from recoup.adapters.simulation.demo_rates import DeclineCode as DeclineCode
from recoup.adapters.simulation.demo_simulation import _Month
from recoup.adapters.simulation.demo_spec import DemoSpec


def demo_lines(spec: DemoSpec) -> Iterator[bytes]:
    """Canonical event lines without newlines, in occurred_at order.

    External ids are numbered after sorting, so within a source they grow with time the way a
    real feed's do, and a consumer can rely on the order of the file."""
    encode = msgspec.json.Encoder().encode
    counters = dict.fromkeys(EXTERNAL_ID_PREFIX, 0)
    for _, _, source, type_, occurred_at, body in _Month(spec).run():
        counters[source] += 1
        external_id = f"{EXTERNAL_ID_PREFIX[source]}{counters[source]:08d}"
        yield encode(
            {
                "source": source,
                "external_id": external_id,
                "type": type_,
                "occurred_at": occurred_at,
                **body,
            }
        )


def write_demo_month(path: Path, spec: DemoSpec) -> int:
    """Write the month as JSON lines; readers never see a half-written file."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    count = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for line in demo_lines(spec):
                out.write(line)
                out.write(b"\n")
                count += 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


__all__ = ["DemoSpec", "demo_lines", "write_demo_month"]
