"""sanctions_alert: the screen, its name normaliser, the SDN-layout loader and the settings that
turn it on."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rapidfuzz import fuzz

from recoup.adapters.sanctions_list import load_sanctions_list, read_alt_names, read_sdn
from recoup.bootstrap import bootstrap, sanctions_rule
from recoup.domain.detection.detectors import DetectionSettings, Detectors, WindowState
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.sanctions import (
    SCREENED_TYPES,
    SanctionsEntry,
    SanctionsList,
    SanctionsScreen,
    normalise_name,
)
from recoup.domain.detection.taxonomy import Breakpoint, Kind, Tier
from recoup.domain.errors import ConfigurationError, InvalidInputError, Location
from recoup.domain.ingestion.event import Event, event_id_for
from recoup.settings import DatabaseSettings, Settings, load_settings
from recoup.settings import DetectionSettings as DetectionConfig
from tests.helpers import DETECTED
from tests.helpers import canonical_event as event

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sanctions"
SDN = FIXTURES / "sdn-sample.csv"
ALT = FIXTURES / "alt-sample.csv"

# A row in the SDN layout: ent_num, name, type, program, then eight more columns.
REST = ",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- "


@pytest.fixture(scope="module")
def sample() -> SanctionsList:
    return load_sanctions_list(SDN, ALT)


@pytest.fixture(scope="module")
def screen(sample: SanctionsList) -> SanctionsScreen:
    return SanctionsScreen(sample)


def run(events: list[Event], screen: SanctionsScreen) -> list[Finding]:
    detectors = Detectors(DetectionSettings(sanctions=screen.spec))
    return detectors.run(events, WindowState(), DETECTED).findings


def alerts(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.type == "sanctions_alert"]


# --- normalise_name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("ACME TRADING LIMITED", "acme trading"),
        ("Acme Trading Ltd.", "acme trading"),
        ("Müller & Söhne GmbH & Co. KG", "muller and sohne gmbh and"),
        ("S.A. Globex", "globex"),
        ("QUILLBERRY, Orvano Desmet", "quillberry orvano desmet"),
        ("O'Brien-Smith", "obrien smith"),
        ("Ltd", "ltd"),
        ("  ", ""),
    ],
)
def test_names_are_compared_without_case_accents_punctuation_or_legal_forms(
    name: str, normalised: str
) -> None:
    assert normalise_name(name) == normalised


# --- the screen -------------------------------------------------------------------------------


def test_a_supplier_named_like_a_listed_entity_is_an_alert(screen: SanctionsScreen) -> None:
    supplier = event("s1", "supplier.created", source="erp", supplier="SUP-9",
                     attributes={"name": "Zanthor Maritime Holdings Ltd"})  # fmt: skip

    (finding,) = run([supplier], screen)

    eid = event_id_for("erp", "s1")
    assert finding.id == finding_id("sanctions_alert", eid)
    assert finding.trigger_event_id == eid
    assert finding.evidence_event_ids == (eid,)
    assert finding.type == "sanctions_alert"
    assert (finding.entity_kind, finding.entity_key) == ("supplier", "SUP-9")
    assert finding.exposure_key == "supplier:SUP-9"
    assert finding.tier is Tier.HUMAN
    assert finding.spec.breakpoint is Breakpoint.ELIGIBILITY
    assert finding.spec.kind is Kind.POLICY
    assert finding.spec.queue == "compliance.policy"
    assert finding.spec.pauses_automation is True
    assert finding.summary == (
        "name is close to sanctions list entry 'ZANTHOR MARITIME HOLDINGS LIMITED' "
        "(uid 9001, SYNTH-A): score 100"
    )
    assert finding.detail == {
        "field": "name",
        "list_name": "ZANTHOR MARITIME HOLDINGS LIMITED",
        "matched_name": "ZANTHOR MARITIME HOLDINGS LIMITED",
        "by_alias": False,
        "uid": "9001",
        "list_type": "entity",
        "program": "SYNTH-A",
        "score": 100.0,
        "confidence": 1.0,
        "threshold": 90,
        "list_source": "sdn-sample.csv",
    }


def test_a_customer_with_the_tokens_of_a_listed_individual_in_another_order_is_an_alert(
    screen: SanctionsScreen,
) -> None:
    payment = event("p1", "payment.succeeded", amount="49.00", payment="pi_1", customer="cus_7",
                    attributes={"customer_name": "Orvano Desmet Quillberry"})  # fmt: skip

    (finding,) = alerts(run([payment], screen))

    assert (finding.entity_kind, finding.entity_key) == ("customer", "cus_7")
    assert (finding.amount, finding.currency) == (Decimal("49.00"), "EUR")
    assert finding.detail["field"] == "customer_name"
    assert finding.detail["uid"] == "9002"
    assert finding.detail["list_type"] == "individual"
    assert finding.detail["program"] == "SYNTH-B, SYNTH-C"
    assert finding.detail["score"] == 100.0


@pytest.mark.parametrize(
    ("type_", "attributes", "uid", "field"),
    [
        ("supplier.updated", {"name": "Zanthor Maritme Holdings"}, "9001", "name"),
        ("supplier.payment_initiated", {"creditor_name": "Vellar Northwind Trading"}, "9003",
         "creditor_name"),
        ("order.created", {"customer_name": "Braskvale Armaments"}, "9005", "customer_name"),
        ("payment.authorized", {"customer_name": "quillberry orvano desmet"}, "9002",
         "customer_name"),
    ],
    ids=["typo", "transposed", "legal-form-dropped", "case"],
)  # fmt: skip
def test_each_screened_event_reads_its_own_name_field(
    screen: SanctionsScreen, type_: str, attributes: dict[str, str], uid: str, field: str
) -> None:
    screened = event("e1", type_, source="erp", supplier="SUP-1", customer="cus_1",
                     attributes=attributes)  # fmt: skip

    (finding,) = alerts(run([screened], screen))

    assert (finding.entity_kind, finding.entity_key) == ("supplier", "SUP-1")
    assert finding.detail["uid"] == uid
    assert finding.detail["field"] == field
    assert finding.detail["score"] >= 90


def test_an_alias_hit_names_the_entry_and_the_alias(screen: SanctionsScreen) -> None:
    supplier = event("s1", "supplier.updated", source="erp", supplier="SUP-1",
                     attributes={"name": "Zanthor Shipping Ltd"})  # fmt: skip

    (finding,) = run([supplier], screen)

    assert finding.detail["list_name"] == "ZANTHOR MARITIME HOLDINGS LIMITED"
    assert finding.detail["matched_name"] == "ZANTHOR SHIPPING"
    assert finding.detail["by_alias"] is True


@pytest.mark.parametrize(
    "name",
    ["Acme Trading Ltd", "Northwind Traders", "Zanthor Bakery", "Jane Smith", "Ltd", "!!!"],
)
def test_an_ordinary_name_below_the_threshold_is_not_an_alert(
    screen: SanctionsScreen, name: str
) -> None:
    supplier = event("s1", "supplier.created", source="erp", supplier="SUP-1",
                     attributes={"name": name})  # fmt: skip

    assert run([supplier], screen) == []


@pytest.mark.parametrize(
    ("type_", "attributes"),
    [
        ("supplier.created", {"customer_name": "Braskvale Armaments"}),
        ("supplier.payment_initiated", {"name": "Braskvale Armaments"}),
        ("order.created", {"name": "Braskvale Armaments"}),
        ("order.created", {"customer_name": ""}),
        ("order.created", {"customer_name": 42}),
        ("invoice.created", {"name": "Braskvale Armaments"}),
        ("refund.failed", {"customer_name": "Braskvale Armaments"}),
    ],
    ids=["wrong-field", "payment-reads-creditor", "order-reads-customer", "blank", "not-text",
         "invoice", "refund"],
)  # fmt: skip
def test_only_the_listed_field_of_a_listed_event_is_screened(
    screen: SanctionsScreen, type_: str, attributes: dict[str, Any]
) -> None:
    screened = event("e1", type_, supplier="SUP-1", attributes=attributes)

    assert screen(screened, DETECTED) is None


def test_the_threshold_decides(sample: SanctionsList) -> None:
    name = {"name": "Zanthor Maritme Holdings"}  # about 98 against the listed name
    supplier = event("s1", "supplier.created", source="erp", supplier="SUP-1", attributes=name)

    assert SanctionsScreen(sample, threshold=98)(supplier, DETECTED) is None
    assert SanctionsScreen(sample, threshold=97)(supplier, DETECTED) is not None


@pytest.mark.parametrize("threshold", [49, 101, True])
def test_a_threshold_outside_50_to_100_is_refused(sample: SanctionsList, threshold: int) -> None:
    with pytest.raises(InvalidInputError, match="must be 50 to 100"):
        SanctionsScreen(sample, threshold=threshold)


def test_the_score_is_token_sort_ratio_of_the_normalised_names() -> None:
    listed = ["Al Rashid Trading Company", "HOLM, Erik Anders", "Blue Reef Shipping SA",
              "Kestrel Aviation Services LLC"]  # fmt: skip
    screen = SanctionsScreen(
        SanctionsList(SanctionsEntry(str(n), name) for n, name in enumerate(listed)), threshold=50
    )
    for query in ["Rashid Al Trading", "Erik Holm", "Blue Reef Shiping", "Kestrel Aviation",
                  "Erik Anders Holmberg"]:  # fmt: skip
        expected = max(
            fuzz.token_sort_ratio(normalise_name(query), normalise_name(n), processor=None)
            for n in listed
        )
        found = screen.match(query)
        assert (found.score if found else 0) == pytest.approx(expected if expected >= 50 else 0)


def test_an_empty_list_screens_nothing() -> None:
    screen = SanctionsScreen(SanctionsList([]))
    supplier = event("s1", "supplier.created", supplier="SUP-1", attributes={"name": "Anyone"})

    assert screen(supplier, DETECTED) is None


def test_the_screen_is_off_unless_configured() -> None:
    dispatch = Detectors().dispatch

    assert not any(
        isinstance(rule, SanctionsScreen) for rules in dispatch.values() for rule in rules
    )


def test_a_configured_screen_reads_exactly_its_types(screen: SanctionsScreen) -> None:
    dispatch = Detectors(DetectionSettings(sanctions=screen.spec)).dispatch

    reading = {t for t, rules in dispatch.items() if screen in rules}
    assert reading == SCREENED_TYPES
    assert {"supplier.created", "supplier.updated", "supplier.payment_initiated",
            "order.created", "payment.succeeded", "payment.failed"} <= reading  # fmt: skip


# --- the loader -------------------------------------------------------------------------------


def test_the_sample_list_loads_with_its_aliases(sample: SanctionsList) -> None:
    assert len(sample) == 5
    assert sample.source == "sdn-sample.csv"
    first, second, _, vessel, _ = sample
    assert first == SanctionsEntry(
        uid="9001",
        name="ZANTHOR MARITIME HOLDINGS LIMITED",
        type="entity",
        program="SYNTH-A",
        aliases=("ZANTHOR SHIPPING",),
    )
    assert (second.type, second.program, second.aliases) == (
        "individual",
        "SYNTH-B, SYNTH-C",
        ("QUILLBERRY, Orvan",),
    )
    assert (vessel.name, vessel.type, vessel.aliases) == ("GLIMMERSEA", "vessel", ())


def test_the_list_loads_without_alternate_names() -> None:
    assert [e.aliases for e in load_sanctions_list(SDN)] == [()] * 5


def write(tmp_path: Path, text: str, name: str = "sdn.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ('1,"GOOD NAME",-0- ,"P"' + REST + '\r\n2,"SHORT ROW",-0-\r\n', 2, None,
         "expected 12 columns (ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, "
         "Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks), found 3"),
        ('1,"GOOD NAME",-0- ,"P"' + REST + '\r\n\r\nX7,"BAD ID",-0- ,"P"' + REST + "\r\n",
         3, "ent_num", "ent_num must be a whole number, not 'X7'"),
        ('1,-0- ,-0- ,"P"' + REST + "\r\n", 1, "SDN_Name", "SDN_Name is empty"),
        ('1,"A",-0- ,"P"' + REST + '\r\n1,"B",-0- ,"P"' + REST + "\r\n", 2, "ent_num",
         "ent_num 1 is listed twice (first on line 1)"),
        ('1,"UNCLOSED,-0- ,"P"' + REST, 1, None, "not valid CSV"),
    ],
    ids=["columns", "ent-num", "no-name", "duplicate", "quote"],
)  # fmt: skip
def test_a_malformed_row_is_refused_naming_file_and_line(
    tmp_path: Path, text: str, line: int, field: str | None, message: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(InvalidInputError) as excinfo:
        read_sdn(path)

    assert excinfo.value.location == Location(file=str(path), line=line, field=field)
    assert excinfo.value.message.startswith(message)
    assert str(excinfo.value).startswith(f"{path}, line {line}")


def test_a_malformed_alternate_name_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '9001,1,"aka","A",-0- \n9001,2,"aka",-0- ,-0- \n', "alt.csv")

    with pytest.raises(InvalidInputError) as excinfo:
        read_alt_names(path)

    assert excinfo.value.location == Location(file=str(path), line=2, field="alt_name")


def test_an_alternate_name_for_an_unlisted_entry_is_refused(tmp_path: Path) -> None:
    alt = write(tmp_path, '9001,1,"aka","A",-0- \n77,2,"aka","B",-0- \n', "alt.csv")

    with pytest.raises(InvalidInputError, match="ent_num 77, which is not in the list") as info:
        load_sanctions_list(SDN, alt)

    assert info.value.location.line == 2


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"

    with pytest.raises(InvalidInputError, match="cannot read the sanctions list") as info:
        load_sanctions_list(missing)

    assert info.value.location == Location(file=str(missing))


def test_a_windows_1252_file_with_a_bom_free_header_less_layout_loads(tmp_path: Path) -> None:
    path = tmp_path / "sdn.csv"
    path.write_bytes(('5,"CAFÉ NOIR TRADING",-0- ,"P"' + REST + "\r\n\x1a").encode("cp1252"))

    (entry,) = read_sdn(path)

    assert entry.name == "CAFÉ NOIR TRADING"


# --- settings and bootstrap -------------------------------------------------------------------


@pytest.fixture
def _no_recoup_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("RECOUP_"):
            monkeypatch.delenv(key)


@pytest.mark.usefixtures("_no_recoup_variables")
def test_screening_is_off_by_default() -> None:
    detection = load_settings().detection

    assert (detection.sanctions_list, detection.sanctions_alt_names) == (None, None)
    assert detection.sanctions_threshold == 90
    assert sanctions_rule(detection) is None


@pytest.mark.usefixtures("_no_recoup_variables")
def test_a_configured_list_reaches_the_detectors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RECOUP_DETECTION__SANCTIONS_LIST", str(SDN))
    monkeypatch.setenv("RECOUP_DETECTION__SANCTIONS_ALT_NAMES", str(ALT))
    monkeypatch.setenv("RECOUP_DETECTION__SANCTIONS_THRESHOLD", "95")
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite:///{tmp_path}/t.db"),  # type: ignore[arg-type]
        detection=load_settings().detection,
    )

    app = bootstrap(settings)
    try:
        supplier = event("s1", "supplier.created", source="erp", supplier="SUP-1",
                         attributes={"name": "Zanthor Shipping"})  # fmt: skip
        findings = app.detectors.run([supplier], WindowState(), DETECTED).findings
        spec = app.detectors.settings.sanctions
    finally:
        app.close()

    assert spec is not None
    assert isinstance(spec[1], SanctionsScreen)
    assert spec[1].threshold == 95
    assert [(f.type, f.detail["uid"]) for f in findings] == [("sanctions_alert", "9001")]


@pytest.mark.usefixtures("_no_recoup_variables")
@pytest.mark.parametrize("value", ["49", "101", "ninety"])
def test_a_bad_threshold_setting_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RECOUP_DETECTION__SANCTIONS_THRESHOLD", value)

    with pytest.raises(ConfigurationError, match="RECOUP_DETECTION__SANCTIONS_THRESHOLD"):
        load_settings()


@pytest.mark.usefixtures("_no_recoup_variables")
def test_alternate_names_without_a_list_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOUP_DETECTION__SANCTIONS_ALT_NAMES", str(ALT))

    with pytest.raises(ConfigurationError, match="SANCTIONS_LIST is not"):
        load_settings()


@pytest.mark.parametrize(
    ("alt_bad", "setting"),
    [(False, "RECOUP_DETECTION__SANCTIONS_LIST"), (True, "RECOUP_DETECTION__SANCTIONS_ALT_NAMES")],
)
def test_a_malformed_list_stops_the_start_naming_setting_file_and_line(
    tmp_path: Path, alt_bad: bool, setting: str
) -> None:
    bad = write(tmp_path, '1,"A",-0-\n')
    detection = DetectionConfig(
        sanctions_list=SDN if alt_bad else bad, sanctions_alt_names=bad if alt_bad else None
    )

    with pytest.raises(ConfigurationError) as excinfo:
        sanctions_rule(detection)

    assert excinfo.value.message.startswith(f"setting {setting}: {bad}, line 1")
