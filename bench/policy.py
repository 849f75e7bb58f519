"""Policy decisions per second on one core: the loader-based engine (decisions compiled once)
against a baseline that compiles the decision for every call, in the same process.

    .venv/bin/python bench/policy.py                    # 20,000 decisions, 1,000 baseline
    .venv/bin/python bench/policy.py --decisions 5000

Target: >= 40,000 decisions/s. Every decision carries its trace, as case opening needs it.
``decide()`` reuses a decision within an equivalence class of inputs (the tables compare
amounts with a few constants; see ``adapters/policy/classes.py``); it starts cold, so the rate
includes evaluating the first input of every class. The row "evaluated every time" is the same
policy with reuse off.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from importlib.metadata import version
from typing import Any

import zen

from recoup.adapters.policy import DEFAULT_POLICY_PATH, ENTRY, load_policy
from recoup.adapters.policy.engine import context_of
from recoup.domain.detection.taxonomy import TAXONOMY
from recoup.domain.policy import PolicyInput


def inputs(count: int) -> list[PolicyInput]:
    rng = random.Random(5)
    specs = list(TAXONOMY.values())
    out = []
    for _ in range(count):
        spec = rng.choice(specs)
        amount = None if rng.random() < 0.1 else f"{rng.lognormvariate(5, 2):.2f}"
        out.append(PolicyInput(type=spec.name, category=spec.category.value, kind=spec.kind.value,
                               breakpoint=spec.breakpoint.value, entity_kind=spec.entity,
                               amount=amount, currency="EUR", tier_hint=spec.tier.value,
                               customer_tier=rng.choice([None, None, "vip"])))  # fmt: skip
    return out


def rate(fn: Any, items: list[Any]) -> float:
    started = time.perf_counter()
    fn(items)
    return len(items) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--baseline-decisions", type=int, default=1_000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    policy = load_policy(DEFAULT_POLICY_PATH)
    content = (DEFAULT_POLICY_PATH / ENTRY).read_text()
    items = inputs(args.decisions)
    contexts = [context_of(i) for i in items]
    engine = zen.ZenEngine({"loader": lambda key: content})

    def loader(batch: list[PolicyInput]) -> None:
        for inp in batch:
            policy.decide(inp)

    every = load_policy(DEFAULT_POLICY_PATH, reuse=False)

    def evaluated(batch: list[PolicyInput]) -> None:
        for inp in batch:
            every.decide(inp)

    def raw(batch: list[dict[str, Any]]) -> None:
        decision = engine.get_decision(ENTRY)
        for context in batch:
            decision.evaluate(context, {"trace": True})

    def batched(batch: list[dict[str, Any]]) -> None:
        engine.evaluate_batch([{"key": ENTRY, "context": c} for c in batch], {"trace": True})

    def baseline(batch: list[dict[str, Any]]) -> None:
        for context in batch:
            zen.ZenEngine().create_decision(content).evaluate(context, {"trace": True})

    evaluated(items[:100])  # warm up the engine (the reusing policy starts cold)
    results = {
        "decide()": rate(loader, items),
        "decide(), evaluated every time": rate(evaluated, items),
        "zen evaluate, raw": rate(raw, contexts),
        "zen evaluate_batch": rate(batched, contexts),
    }
    base = rate(baseline, contexts[: args.baseline_decisions])
    print(f"{len(items):,} decisions over {len(TAXONOMY)} finding types, with trace; "
          f"baseline compiles per call ({args.baseline_decisions:,}); "
          f"zen-engine {version('zen-engine')}")  # fmt: skip
    print(f"{'path':<32}{'decisions/s':>13}{'baseline/s':>12}{'ratio':>8}")
    for name, value in results.items():
        print(f"{name:<32}{value:>13,.0f}{base:>12,.0f}{value / base:>7.1f}x")
    print(f"decide() evaluated {policy.classes_seen:,} input classes and reused the decision for "
          f"the other {len(items) - policy.classes_seen:,} inputs")  # fmt: skip
    print(
        "target >= 40,000 decisions/s:",
        "met" if results["decide()"] >= 40_000 else "NOT met",
    )


if __name__ == "__main__":
    main()
