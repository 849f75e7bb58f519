"""Property-based: requests generated from the app's own OpenAPI document (valid and invalid
ones) never make it answer 5xx, on a store with a little of everything.

Runs in-process over ASGI as a principal holding every permission, so each operation gets
past its access check. Operations with a case, a run or a match in the path are also tried
with the id of one that exists, so the generated bodies reach the services. Bounded: a few
examples per operation and mode.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from recoup.adapters.clock import FixedClock
from recoup.bootstrap import App
from recoup.entrypoints.api.app import create_app
from tests.e2e.api.api_support import RoleAuth, principal, seed

EXAMPLES = 6


def test_no_generated_request_gets_a_server_error(app: App, clock: FixedClock) -> None:
    seeded = seed(app)
    api = create_app(app, {})
    api.state.auth = RoleAuth(principal("admin", "approver", "auditor", "operator"))
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", api)
    known = {"case_id": seeded.case_ids["pi_1"], "run_id": seeded.run_id,
             "match_id": seeded.suggested_match}  # fmt: skip

    failures: list[str] = []
    answered: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the document has an invalid operation: {result!r}"
        operation = result.ok()
        if not operation.path.startswith("/api/"):
            continue
        operations += 1
        names = {p.name for p in operation.path_parameters}
        real = {k: v for k, v in known.items() if k in names}
        strategies = [operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE)]  # fmt: skip
        if real:
            strategies.append(operation.as_strategy(GenerationMode.POSITIVE,
                                                    path_parameters=real))  # fmt: skip

        @given(case=st.one_of(*strategies))
        @settings(max_examples=EXAMPLES * len(strategies), deadline=None, database=None,
                  derandomize=True, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def run(case: Any) -> None:
            clock.advance(timedelta(milliseconds=1))  # a real clock moves between requests
            try:
                response = case.call()
            except Exception as exc:  # the test client re-raises what the app did not handle
                failures.append(
                    f"{case.method} {case.formatted_path} body={case.body!r:.200}: "
                    f"{type(exc).__name__}: {str(exc)[:300]}"
                )
                return
            answered[response.status_code // 100] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} "
                                f"query={case.query} body={case.body!r:.200}: "
                                f"{response.status_code} {response.text[:300]}")  # fmt: skip

        run()
    assert operations >= 40
    # The generated requests reach the services too, not only the validation in front of them.
    assert answered[2] >= 50, answered
    assert answered[2] >= sum(answered.values()) // 10, answered
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/events"])
def test_the_document_is_exact_for_lists(app: App, path: str) -> None:
    spec = create_app(app, {}).openapi()
    responses = spec["paths"][path]["get"]["responses"]
    assert {"200", "401", "403", "422"} <= set(responses)
    ref = responses["200"]["content"]["application/json"]["schema"]["$ref"]
    page = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"items", "next_cursor"}
