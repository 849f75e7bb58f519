"""The ``fuzz`` hypothesis profile every test of this folder runs under.

``RECOUP_FUZZ_EXAMPLES`` sets the examples per property (default 100, a budget that keeps the whole
folder well under two minutes on a shared two-core machine); a long run is
``RECOUP_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/fuzz``. There is no per-example deadline: the
machine is shared and one slow example is not a finding. Hangs are caught by
:func:`tests.fuzz.bounded` instead, with a generous wall-clock bound per parse.

The profile is registered here and applied per test (``@fuzz_settings()``), never loaded
globally, so the budgets of the property tests elsewhere in the suite are left as they are.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

DEFAULT_EXAMPLES = 100


def _examples() -> int:
    text = os.environ.get("RECOUP_FUZZ_EXAMPLES", "").strip()
    if not text:
        return DEFAULT_EXAMPLES
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"RECOUP_FUZZ_EXAMPLES must be a whole number, not {text!r}") from None
    if value < 1:
        raise ValueError("RECOUP_FUZZ_EXAMPLES must be at least 1")
    return value


settings.register_profile(
    "fuzz",
    max_examples=_examples(),
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
