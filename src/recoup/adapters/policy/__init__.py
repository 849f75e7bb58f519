"""Policy as JDM decision graphs evaluated by GoRules zen: the engine, loading and validation.

policy = load_policy(path)        # validates; raises PolicyError naming file, node and rule
decision = policy.decide(PolicyInput(...))
"""

from recoup.adapters.policy.engine import DEFAULT_POLICY_PATH, ENTRY, ZenPolicy
from recoup.adapters.policy.loading import REQUIRED_TABLES, PolicyError, load_policy

__all__ = [
    "DEFAULT_POLICY_PATH",
    "ENTRY",
    "REQUIRED_TABLES",
    "PolicyError",
    "ZenPolicy",
    "load_policy",
]
