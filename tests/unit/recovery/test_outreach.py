"""Customer outreach: contact rules (explicit clocks), the message model, templates, and the
apprise channel's configuration checks (no sockets here; sending is in the integration tests)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoup.adapters.clock import FixedClock
from recoup.adapters.outreach.channels import AppriseChannel, ChannelRouter, mask_url
from recoup.adapters.outreach.templates import OutreachTemplates, default_templates, render
from recoup.domain.errors import ConfigurationError, InvalidInputError, Location
from recoup.domain.money import Money
from recoup.domain.recovery.outreach import (
    FINDING_TEMPLATES,
    TEMPLATE_KINDS,
    BodyFormat,
    Consent,
    Contact,
    ContactRules,
    ContactStatus,
    ContactVerdict,
    Delivery,
    DeliveryStatus,
    MessageKind,
    OutboundMessage,
    may_contact,
    message_id,
    suppressed,
)

RULES = ContactRules()
EMAIL = Consent(opted_in=frozenset({"email"}))
BERLIN = "Europe/Berlin"
H = timedelta(hours=1)
D = timedelta(days=1)
# A Monday, 12:00 in Berlin (CEST, UTC+2): outside quiet hours.
NOON = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def sent(at: datetime, channel: str = "email") -> Contact:
    return Contact(at, channel, ContactStatus.SENT)


def verdict(
    history: list[Contact],
    now: datetime,
    *,
    rules: ContactRules = RULES,
    consent: Consent = EMAIL,
    channel: str = "email",
    tz: str = BERLIN,
) -> ContactVerdict:
    return may_contact(history, rules, consent, channel, now, tz)


def allowed() -> ContactVerdict:
    return ContactVerdict(True, None, "allowed", needs_review=False)


# --- defaults ----------------------------------------------------------------------------------


def test_default_rules_are_the_house_policy() -> None:
    expected = ContactRules(
        max_per_week=2, min_gap=timedelta(hours=48), review_after=3,
        quiet_start=time(21, 0), quiet_end=time(8, 0),
    )  # fmt: skip
    assert expected == RULES


def test_no_history_in_the_afternoon_is_allowed() -> None:
    assert verdict([], NOON) == allowed()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_per_week", 0, "contact rules: max_per_week must be at least 1"),
        ("review_after", 0, "contact rules: review_after must be at least 1"),
        ("min_gap", -H, "contact rules: min_gap must not be negative"),
        ("quiet_start", time(21, tzinfo=UTC),
         "contact rules: quiet_start is a wall-clock time in the recipient's zone; give no tzinfo"),
    ],
)  # fmt: skip
def test_invalid_rules_are_refused_naming_the_field(field: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        ContactRules(**{field: value})
    assert err.value.message == message
    assert err.value.location == Location(field=field)


# --- consent -----------------------------------------------------------------------------------


def test_no_consent_for_the_channel_is_never_allowed_and_has_no_time() -> None:
    v = verdict([], NOON, channel="sms")
    assert v == ContactVerdict(False, None, "no consent: the customer has not opted in to sms",
                               needs_review=False)  # fmt: skip


def test_opted_out_is_never_allowed() -> None:
    consent = Consent(opted_in=frozenset({"sms"}), opted_out=frozenset({"email"}))
    v = verdict([], NOON, consent=consent)
    assert v == ContactVerdict(False, None, "no consent: the customer has opted out of email",
                               needs_review=False)  # fmt: skip
    assert verdict([], NOON, consent=consent, channel="sms").allowed


def test_consent_both_given_and_withdrawn_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="both given and withdrawn for email"):
        Consent(opted_in=frozenset({"email"}), opted_out=frozenset({"email"}))


def test_no_consent_is_checked_before_review() -> None:
    history = [sent(NOON - 30 * D), sent(NOON - 20 * D), sent(NOON - 10 * D)]
    v = verdict(history, NOON, consent=Consent())
    assert not v.allowed
    assert not v.needs_review
    assert v.reason.startswith("no consent")


# --- weekly cap --------------------------------------------------------------------------------


NO_GAP = ContactRules(min_gap=timedelta(0))


def test_cap_counts_a_rolling_seven_days_and_opens_when_the_oldest_rolls_off() -> None:
    first, second = NOON - 6 * D, NOON - 1 * D
    v = verdict([sent(first), sent(second)], NOON, rules=NO_GAP)
    assert not v.allowed
    assert v.not_before == first + 7 * D
    assert v.reason == (
        "weekly cap: 2 of 2 messages in the last 7 days, a slot opens at 2026-06-02T10:00:00+00:00"
    )
    assert verdict([sent(first), sent(second)], first + 7 * D, rules=NO_GAP) == allowed()
    one_second_before = first + 7 * D - timedelta(seconds=1)
    assert not verdict([sent(first), sent(second)], one_second_before, rules=NO_GAP).allowed


def test_cap_is_across_channels() -> None:
    consent = Consent(opted_in=frozenset({"email", "sms"}))
    history = [sent(NOON - 3 * D, "sms"), sent(NOON - 2 * D, "email")]
    v = verdict(history, NOON, rules=NO_GAP, consent=consent, channel="sms")
    assert v.not_before == NOON - 3 * D + 7 * D


def test_over_the_cap_waits_for_enough_messages_to_roll_off() -> None:
    rules = ContactRules(max_per_week=3, min_gap=timedelta(0), review_after=10)
    times = [NOON - 6 * D, NOON - 5 * D, NOON - 4 * D, NOON - 3 * D]  # 4 in the window, cap 3
    v = verdict([sent(t) for t in times], NOON, rules=rules)
    assert v.not_before == times[1] + 7 * D  # the two oldest must roll off


@pytest.mark.parametrize(
    ("status", "counts"),
    [
        (ContactStatus.SENT, True),
        (ContactStatus.QUEUED, True),
        (ContactStatus.FAILED, False),
        (ContactStatus.SUPPRESSED, False),
    ],
)
def test_only_queued_and_sent_messages_count(status: ContactStatus, counts: bool) -> None:
    history = [sent(NOON - 5 * D), Contact(NOON - 3 * D, "email", status)]
    assert verdict(history, NOON, rules=NO_GAP).allowed is not counts


# --- minimum gap -------------------------------------------------------------------------------


def test_gap_of_48_hours_since_the_last_message() -> None:
    last = NOON - 47 * H
    v = verdict([sent(last)], NOON)
    assert not v.allowed
    assert v.not_before == last + 48 * H
    assert v.reason == "minimum gap: 48h since the last message at 2026-05-30T11:00:00+00:00"
    assert verdict([sent(last)], last + 48 * H) == allowed()


def test_gap_counts_from_the_latest_message_whatever_the_history_order() -> None:
    history = [sent(NOON - 2 * H), sent(NOON - 9 * D)]
    assert verdict(history, NOON).not_before == NOON - 2 * H + 48 * H


# --- quiet hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "expected_local"),
    [
        (datetime(2026, 6, 1, 21, 0), datetime(2026, 6, 2, 8, 0)),  # start is quiet
        (datetime(2026, 6, 1, 23, 30), datetime(2026, 6, 2, 8, 0)),
        (datetime(2026, 6, 2, 0, 15), datetime(2026, 6, 2, 8, 0)),  # after midnight: same day
        (datetime(2026, 6, 2, 7, 59), datetime(2026, 6, 2, 8, 0)),
        (datetime(2026, 6, 2, 8, 0), None),  # end is not quiet
        (datetime(2026, 6, 1, 20, 59), None),
    ],
)
def test_quiet_hours_in_the_recipients_time(local: datetime,
                                            expected_local: datetime | None) -> None:  # fmt: skip
    zone = ZoneInfo(BERLIN)
    now = local.replace(tzinfo=zone).astimezone(UTC)
    v = verdict([], now)
    if expected_local is None:
        assert v == allowed()
    else:
        assert not v.allowed
        assert v.not_before == expected_local.replace(tzinfo=zone).astimezone(UTC)
        assert v.reason.startswith("quiet hours: 21:00-08:00 in Europe/Berlin, until ")


def test_quiet_hours_end_at_8_local_across_the_spring_dst_change() -> None:
    # Berlin moves from CET (UTC+1) to CEST (UTC+2) at 02:00 on Sunday 29 March 2026.
    now = datetime(2026, 3, 28, 21, 30, tzinfo=UTC)  # Saturday 22:30 CET
    v = verdict([], now)
    assert v.not_before == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 CEST, not 07:00 UTC
    assert v.reason.endswith("until 2026-03-29T08:00:00+02:00")


def test_quiet_hours_end_at_8_local_across_the_autumn_dst_change() -> None:
    # Back from CEST to CET at 03:00 on Sunday 25 October 2026.
    now = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)  # Saturday 22:00 CEST
    assert verdict([], now).not_before == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)  # 08:00 CET


@pytest.mark.parametrize(
    ("tz", "not_before"),
    [
        ("Europe/Berlin", None),  # 14:00
        ("Asia/Tokyo", datetime(2026, 6, 1, 23, 0, tzinfo=UTC)),  # 21:00 -> 08:00 JST next day
        ("America/Los_Angeles", datetime(2026, 6, 1, 15, 0, tzinfo=UTC)),  # 05:00 -> 08:00 PDT
        ("UTC", None),  # 12:00
    ],
)
def test_the_same_instant_is_quiet_in_some_zones(tz: str, not_before: datetime | None) -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    v = verdict([], now, tz=tz)
    assert v.allowed is (not_before is None)
    assert v.not_before == not_before


def test_a_gap_that_ends_in_quiet_hours_waits_for_the_morning() -> None:
    last = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)  # 22:00 Berlin
    v = verdict([sent(last)], datetime(2026, 6, 2, 10, 0, tzinfo=UTC))
    assert v.not_before == datetime(2026, 6, 4, 6, 0, tzinfo=UTC)  # 08:00 Berlin, 2 days later
    assert v.reason.startswith("minimum gap: 48h since the last message at ")
    assert "; quiet hours: 21:00-08:00 in Europe/Berlin" in v.reason


def test_a_daytime_quiet_window_and_no_quiet_window() -> None:
    lunch = ContactRules(quiet_start=time(12, 0), quiet_end=time(14, 0))
    now = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)  # 12:30 Berlin
    assert verdict([], now, rules=lunch).not_before == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    never_quiet = ContactRules(quiet_start=time(0, 0), quiet_end=time(0, 0))
    assert verdict([], datetime(2026, 6, 1, 1, 0, tzinfo=UTC), rules=never_quiet) == allowed()


# --- review after 3 without a reply -------------------------------------------------------------


THREE_UNANSWERED = [sent(NOON - 30 * D), sent(NOON - 20 * D), sent(NOON - 10 * D)]


def test_after_three_messages_without_a_reply_a_person_reviews() -> None:
    v = verdict(THREE_UNANSWERED, NOON)
    assert v == ContactVerdict(
        False, None,
        "3 messages without a reply: a person reviews the outreach before any more",
        needs_review=True,
    )  # fmt: skip
    assert verdict(THREE_UNANSWERED[:2], NOON) == allowed()


@pytest.mark.parametrize("status", [ContactStatus.REPLIED, ContactStatus.REVIEWED])
def test_a_reply_or_a_review_starts_the_count_again(status: ContactStatus) -> None:
    history = [*THREE_UNANSWERED, Contact(NOON - 5 * D, "sms", status)]
    assert verdict(history, NOON) == allowed()
    history += [sent(NOON - 4 * D + H * i * 60) for i in range(3)]  # three more, spaced out
    assert verdict(history, NOON + 30 * D).needs_review


def test_a_reply_before_the_messages_does_not_reset_them() -> None:
    history = [Contact(NOON - 40 * D, "email", ContactStatus.REPLIED), *THREE_UNANSWERED]
    assert verdict(history, NOON).needs_review


def test_failed_messages_are_not_unanswered_messages() -> None:
    history = [*THREE_UNANSWERED[:2], Contact(NOON - 10 * D, "email", ContactStatus.FAILED)]
    assert verdict(history, NOON) == allowed()


def test_review_after_is_configurable() -> None:
    assert verdict([sent(NOON - 10 * D)], NOON, rules=ContactRules(review_after=1)).needs_review


# --- inputs ------------------------------------------------------------------------------------


def test_a_naive_now_and_an_unknown_zone_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="now must be timezone-aware"):
        verdict([], datetime(2026, 6, 1, 12, 0))
    with pytest.raises(InvalidInputError) as err:
        verdict([], NOON, tz="Mars/Olympus_Mons")
    assert err.value.location == Location(field="tz")
    assert "unknown time zone 'Mars/Olympus_Mons'" in err.value.message


ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe", "UTC"]


@settings(max_examples=200, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=14 * 24 * 60), max_size=4),
    now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1),
                     timezones=st.just(UTC)),
    tz=st.sampled_from(ZONES),
)  # fmt: skip
def test_not_before_is_the_earliest_allowed_time(offsets: list[int], now: datetime,
                                                 tz: str) -> None:  # fmt: skip
    history = [sent(now - timedelta(minutes=m)) for m in offsets]
    v = verdict(history, now, tz=tz)
    if v.allowed or v.needs_review:
        assert v.not_before is None
        return
    assert v.not_before is not None
    assert v.not_before > now
    assert verdict(history, v.not_before, tz=tz).allowed
    assert not verdict(history, v.not_before - timedelta(microseconds=1), tz=tz).allowed


# --- messages and deliveries -------------------------------------------------------------------


def _message(**changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "case_id": "case-1", "template": "payment_failed", "key": "step-1", "channel": "email",
        "to": "a@example.org", "subject": "Hello", "body": "Body\n", "language": "en",
    }  # fmt: skip
    return OutboundMessage.compose(**{**fields, **changes})


def test_message_id_is_derived_from_case_template_and_key() -> None:
    assert _message().id == _message(subject="other", to="b@example.org").id
    assert _message().id == message_id("case-1", "payment_failed", "step-1")
    assert _message(key="step-2").id != _message().id
    assert _message(case_id="case-2").id != _message().id
    assert _message(template="missing_payment").id != _message().id


def test_message_kind_follows_the_template() -> None:
    assert _message().kind is MessageKind.REQUEST
    assert _message(template="claim_received").kind is MessageKind.ACKNOWLEDGEMENT
    with pytest.raises(InvalidInputError, match="template 'custom' has no known kind"):
        _message(template="custom")
    assert _message(template="custom", kind=MessageKind.REQUEST).template == "custom"


def test_a_subject_with_a_line_break_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="subject has a line break"):
        _message(subject="Hello\r\nBcc: everyone@example.org")


def test_contact_from_a_delivery_and_suppression() -> None:
    message = _message()
    v = verdict([sent(NOON - H)], NOON)
    delivery = suppressed(message, v, NOON)
    assert delivery == Delivery(message.id, DeliveryStatus.SUPPRESSED, NOON, v.reason)
    assert Contact.of(message, delivery) == Contact(NOON, "email", ContactStatus.SUPPRESSED)
    with pytest.raises(InvalidInputError, match="the verdict allows it"):
        suppressed(message, allowed(), NOON)


def test_every_template_has_a_kind_and_findings_map_to_templates() -> None:
    assert sorted(TEMPLATE_KINDS) == default_templates().names()
    assert set(FINDING_TEMPLATES.values()) <= set(TEMPLATE_KINDS)


# --- templates ---------------------------------------------------------------------------------


CONTEXTS: dict[str, dict[str, Any]] = {
    "payment_failed": {"amount": Money(Decimal("1234.5"), "EUR"),
                       "update_url": "https://shop.example/card", "retry_on": date(2026, 3, 5)},
    "retry_exhausted": {"amount": Money(Decimal("20"), "EUR"),
                        "update_url": "https://shop.example/card"},
    "missing_payment": {"amount": Money(Decimal("99.99"), "EUR"), "invoice_number": "INV-42",
                        "due_date": date(2026, 5, 1), "pay_url": "https://shop.example/pay"},
    "claim_received": {"amount": Money(Decimal("15"), "USD"), "claim_reference": "CL-7",
                       "respond_by": None},
    "address_risk": {"order_number": "#1001", "address": "Hauptstr. 1\n10115 Berlin",
                     "confirm_url": "https://shop.example/address"},
}  # fmt: skip
COMMON = {"customer_name": "Ana <b>Weiß</b>", "merchant_name": "Shop & Co"}


@pytest.mark.parametrize("template", sorted(CONTEXTS))
@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("body_format", list(BodyFormat))
def test_every_template_renders_in_english_and_german(
    template: str, language: str, body_format: BodyFormat
) -> None:
    templates = default_templates()
    assert templates.resolve_language(template, language, body_format) == language
    subject, body = templates.render(template, language, {**COMMON, **CONTEXTS[template]},
                                     body_format=body_format)  # fmt: skip
    assert subject
    assert "\n" not in subject
    assert body.endswith("\n")
    if body_format is BodyFormat.HTML:
        assert body.startswith("<!DOCTYPE html>")
        assert f'<html lang="{language}">' in body
        assert "Ana &lt;b&gt;Weiß&lt;/b&gt;" in body
        assert "Shop &amp; Co" in body
        assert "<b>" not in body
    else:
        assert "Ana <b>Weiß</b>" in body
        assert "Shop & Co" in body


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_each_language_asks_for_the_same_variables(template: str) -> None:
    templates = default_templates()
    assert templates.variables(template, "de") == templates.variables(template, "en")
    assert templates.variables(template, "en") == set(COMMON) | set(CONTEXTS[template])


def test_payment_failed_in_german_formats_money_and_dates_for_german() -> None:
    subject, body = render("payment_failed", "de", {**COMMON, **CONTEXTS["payment_failed"]})
    assert subject == "Ihre Zahlung über 1.234,50 EUR an Shop & Co ist nicht durchgegangen"
    assert "Wir versuchen es am 5. März 2026 erneut." in body


def test_english_formats_and_money_without_minor_units() -> None:
    context = {**COMMON, **CONTEXTS["payment_failed"], "amount": Money(Decimal("5000"), "JPY")}
    subject, body = render("payment_failed", "en", context)
    assert subject == "Your payment of 5,000 JPY to Shop & Co did not go through"
    assert "We will try again on 5 March 2026." in body


@pytest.mark.parametrize(("asked", "used"), [("de-AT", "de"), ("DE_de", "de"), ("fr", "en"),
                                             ("", "en"), ("../../etc", "en")])  # fmt: skip
def test_language_falls_back_to_its_primary_tag_then_english(asked: str, used: str) -> None:
    assert default_templates().resolve_language("missing_payment", asked) == used
    expected = default_templates().render(
        "missing_payment", used, {**COMMON, **CONTEXTS["missing_payment"]}
    )
    assert render("missing_payment", asked, {**COMMON, **CONTEXTS["missing_payment"]}) == expected


def test_a_missing_variable_names_the_template_and_the_variable() -> None:
    context = {**COMMON, **CONTEXTS["missing_payment"]}
    del context["invoice_number"]
    with pytest.raises(InvalidInputError) as err:
        render("missing_payment", "de", context)
    assert err.value.location == Location(file="missing_payment/de.subject.txt",
                                          field="invoice_number")  # fmt: skip
    assert str(err.value) == (
        "missing_payment/de.subject.txt, field invoice_number: "
        "variable 'invoice_number' is missing from the context"
    )


def test_money_must_be_money_not_a_float() -> None:
    context = {**COMMON, **CONTEXTS["retry_exhausted"], "amount": 20.0}
    with pytest.raises(InvalidInputError, match="money expects a Money, got float"):
        render("retry_exhausted", "en", context)


def test_an_unknown_template_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInputError) as err:
        render("card_lost", "en", {})
    assert err.value.message == (
        "no outreach template 'card_lost'; there are address_risk, claim_received, "
        "missing_payment, payment_failed, retry_exhausted"
    )


def test_a_custom_folder_and_a_broken_template(tmp_path: Path) -> None:
    (tmp_path / "hello").mkdir()
    (tmp_path / "hello" / "en.subject.txt").write_text("Hi {{ name }}\n")
    (tmp_path / "hello" / "en.body.txt").write_text("Line one\n{% if %}\n")
    templates = OutreachTemplates(tmp_path)
    assert templates.names() == ["hello"]
    with pytest.raises(ConfigurationError) as err:
        templates.render("hello", "en", {"name": "Ana"})
    assert err.value.message.startswith("outreach template hello/en.body.txt line 2: ")
    with pytest.raises(ConfigurationError, match="has no html version in 'en' nor in 'en'"):
        templates.render("hello", "en", {"name": "Ana"}, body_format=BodyFormat.HTML)


def test_message_records_the_language_actually_used() -> None:
    message = default_templates().message(
        "claim_received", "fr", {**COMMON, **CONTEXTS["claim_received"]}, case_id="case-9",
        key="ack", channel="email", to="a@example.org",
    )  # fmt: skip
    assert message.language == "en"
    assert message.kind is MessageKind.ACKNOWLEDGEMENT
    assert message.subject == "We received your claim CL-7"
    assert message.id == message_id("case-9", "claim_received", "ack")


# --- channel configuration (no sending here) ---------------------------------------------------


CLOCK = FixedClock(NOON)


@pytest.mark.parametrize(
    "url",
    [
        "mailtos://bob:pw-not-real@smtp.example.com/fixed@example.org?from=a@example.com",
        "mailtos://bob:pw-not-real@smtp.example.com?from=a@example.com&to=fixed@example.org",
    ],
)
def test_an_email_url_that_names_recipients_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        AppriseChannel("email", url, clock=CLOCK)
    assert "names recipients" in err.value.message
    assert "pw-not-real" not in err.value.message


def test_a_url_apprise_cannot_use_is_a_configuration_error_without_its_secret() -> None:
    with pytest.raises(ConfigurationError) as err:
        AppriseChannel("sms", "nonsense://bob:pw-not-real@gateway.example.com", clock=CLOCK)
    assert err.value.message == (
        "outreach channel sms: apprise cannot use the URL nonsense://bob:****@gateway.example.com"
    )


def test_channel_description_hides_the_password() -> None:
    url = "mailtos://bob:pw-not-real@smtp.example.com:2525?from=billing@example.com"
    channel = AppriseChannel("email", url, clock=CLOCK)
    assert channel.description == "mailtos://bob:****@smtp.example.com:2525"
    assert mask_url(url) == "mailtos://bob:****@smtp.example.com:2525/"


def test_a_message_for_another_channel_is_refused() -> None:
    channel = AppriseChannel("email", "mailto://127.0.0.1:2525?from=a@example.com", clock=CLOCK)
    with pytest.raises(InvalidInputError, match="is for channel sms, not email"):
        channel.send(_message(channel="sms", to="+4915100000001"))


class _FakeChannel:
    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    def send(self, message: OutboundMessage) -> Delivery:
        self.sent.append(message)
        return Delivery(message.id, DeliveryStatus.SENT, NOON, "fake")


def test_router_sends_through_the_named_channel_and_refuses_unknown_ones() -> None:
    sms = _FakeChannel()
    router = ChannelRouter({"sms": sms})
    message = _message(channel="sms", to="+4915100000001")
    assert router.send(message).status is DeliveryStatus.SENT
    assert sms.sent == [message]
    with pytest.raises(ConfigurationError, match="no outreach channel 'email' is configured"):
        router.send(replace(message, channel="email"))
    assert sms.sent == [message]
