"""Card-network chargeback reason codes: what a code means and which kind of dispute it is.

``chargeback_reason("visa", "10.4")`` gives the description ("Other Fraud - Card Absent
Environment") and the category (``fraud``). Connectors use it to fill ``reason_message`` on
dispute events whose source sends only the code.

Networks are named by the reason-code namespaces Recoup uses (``visa``, ``mc``, ``amex``,
``discover``, ``diners``, ``pulse``, ``star``, ``nyce``, ``accel``); the usual spellings of a
network (``Mastercard``, ``American Express``, ``master``, ``diners_club``) are accepted too.

Categories are Visa's four dispute groups, which the other networks' codes are filed under as
well: ``fraud``, ``authorization``, ``processing error``, ``consumer dispute``; codes the source
could not place in one of them are ``other``.

The table (``chargeback_reason_codes.csv`` beside this module) is loaded on first use. Its origin
and licence are in ``NOTICE-chargebacks.md``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

DATA_FILE = "chargeback_reason_codes.csv"

FRAUD = "fraud"
AUTHORIZATION = "authorization"
PROCESSING_ERROR = "processing error"
CONSUMER_DISPUTE = "consumer dispute"
OTHER = "other"

CATEGORIES = (FRAUD, AUTHORIZATION, PROCESSING_ERROR, CONSUMER_DISPUTE, OTHER)

_CATEGORY = {
    "fraud": FRAUD,
    "authorization": AUTHORIZATION,
    "processing": PROCESSING_ERROR,
    "consumer": CONSUMER_DISPUTE,
    "other": OTHER,
}

# The table's network names, and the spellings sources use, to Recoup's namespaces.
_NETWORK = {
    "visa": "visa",
    "mc": "mc",
    "mastercard": "mc",
    "master": "mc",
    "master_card": "mc",
    "maestro": "mc",
    "amex": "amex",
    "american_express": "amex",
    "americanexpress": "amex",
    "discover": "discover",
    "discover_card": "discover",
    "diners": "diners",
    "diners_club": "diners",
    "dinersclub": "diners",
    "pulse": "pulse",
    "star": "star",
    "nyce": "nyce",
    "accel": "accel",
}

NETWORKS = tuple(sorted(set(_NETWORK.values())))

_VISA_VCR = re.compile(r"^1[0-3]\.\d$")


@dataclass(frozen=True, slots=True)
class ReasonInfo:
    """One network's chargeback reason code."""

    network: str
    """Recoup's namespace for the network: ``visa``, ``mc``, ``amex``, ..."""
    code: str
    description: str
    category: str
    """``fraud``, ``authorization``, ``processing error``, ``consumer dispute`` or ``other``."""

    @property
    def reason_code(self) -> str:
        """The namespaced reason code an event carries: ``visa:10.4``."""
        return f"{self.network}:{self.code}"


def network_namespace(network: str | None) -> str | None:
    """Recoup's namespace for a network name (``Mastercard`` -> ``mc``), or None if unknown."""
    if not network:
        return None
    key = re.sub(r"[\s-]+", "_", network.strip().lower())
    return _NETWORK.get(key)


def _normal_code(code: str) -> str:
    return code.strip().upper()


@cache
def _table() -> dict[tuple[str, str], ReasonInfo]:
    text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    table: dict[tuple[str, str], ReasonInfo] = {}
    for row in csv.DictReader(text.splitlines()):
        network = network_namespace(row["network"])
        if network is None:  # a network added to the file without a namespace here
            continue
        code = _normal_code(row["reason_code"])
        category = _CATEGORY.get(row["category"].strip().lower(), OTHER)
        table[(network, code)] = ReasonInfo(network, code, row["description"].strip(), category)
    return table


@cache
def _networks_by_code() -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for network, code in _table():
        found.setdefault(code, []).append(network)
    return {code: tuple(sorted(networks)) for code, networks in found.items()}


def chargeback_reason(network: str | None, code: str | None) -> ReasonInfo | None:
    """What ``code`` means on ``network``, or None when either is unknown.

    Never raises: an unknown network, an empty code or a code missing from the table is None.
    """
    namespace = network_namespace(network)
    if namespace is None or not code:
        return None
    return _table().get((namespace, _normal_code(code)))


def infer_network(code: str | None) -> str | None:
    """The network a bare reason code must belong to, when that is unambiguous.

    Visa Claims Resolution codes (``10.4``, ``13.1``) have a shape no other network uses; any
    other code is attributed only when exactly one network in the table has it (``4837`` is
    Mastercard's; ``4863`` is both Mastercard's and Discover's, so it stays unattributed).
    """
    if not code:
        return None
    normal = _normal_code(code)
    if _VISA_VCR.match(normal):
        return "visa"
    networks = _networks_by_code().get(normal, ())
    return networks[0] if len(networks) == 1 else None


__all__ = [
    "AUTHORIZATION",
    "CATEGORIES",
    "CONSUMER_DISPUTE",
    "FRAUD",
    "NETWORKS",
    "OTHER",
    "PROCESSING_ERROR",
    "ReasonInfo",
    "chargeback_reason",
    "infer_network",
    "network_namespace",
]
