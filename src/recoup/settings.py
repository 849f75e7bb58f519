"""Typed settings, read once from the environment (``RECOUP_`` prefix, ``__`` for sections).

    RECOUP_ENVIRONMENT=prod
    RECOUP_DATABASE__URL=postgresql://recoup@db/recoup
    RECOUP_INGEST__BATCH_SIZE=5000

Unknown ``RECOUP_`` variables are refused (a typo must not silently fall back to a default), and
insecure defaults are refused outside ``dev``.
"""

from __future__ import annotations

import os
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from recoup.adapters.calendars import check_region, holidays_for, read_holiday_file
from recoup.domain.cases.calendar import ALWAYS, BusinessCalendar, Calendar
from recoup.domain.detection.detectors import DEFAULT_HIGH_VALUE_THRESHOLDS, RuleSpec
from recoup.domain.detection.detectors import DetectionSettings as DetectorSettings
from recoup.domain.detection.sanctions import DEFAULT_THRESHOLD as DEFAULT_SANCTIONS_THRESHOLD
from recoup.domain.detection.sanctions import MAX_THRESHOLD as MAX_SANCTIONS_THRESHOLD
from recoup.domain.detection.sanctions import MIN_THRESHOLD as MIN_SANCTIONS_THRESHOLD
from recoup.domain.errors import ConfigurationError, InvalidInputError
from recoup.domain.money import check_amount, is_currency

PREFIX = "RECOUP_"
DEV_SECRET = "dev-only-not-secret"  # noqa: S105 - refused outside dev


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: SecretStr = Field(
        default=SecretStr("sqlite:///recoup.db"),
        description="SQLAlchemy URL: sqlite:///path.db (default, in the working directory) "
        "or postgresql://user:password@host/db",
    )
    echo: bool = Field(default=False, description="log every SQL statement")
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="FULL", description="FULL survives power loss; NORMAL only process crashes"
    )
    auto_upgrade: bool = Field(
        default=True, description="apply pending migrations on start (turn off in production)"
    )

    @field_validator("url")
    @classmethod
    def _parseable(cls, value: SecretStr) -> SecretStr:
        try:
            url = make_url(value.get_secret_value())
        except ArgumentError:
            raise ValueError("not a database URL (sqlite:///file.db or postgresql://...)") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {url.get_backend_name()!r}")
        return value


class IngestSettings(_Section):
    batch_size: int = Field(default=5000, ge=1, le=100_000, description="records per commit")


class DetectionSettings(_Section):
    duplicate_charge_window_minutes: int = Field(
        default=60, ge=1, description="same customer, amount and currency within this window"
    )

    high_value_thresholds: dict[str, Decimal] = Field(
        default_factory=lambda: dict(DEFAULT_HIGH_VALUE_THRESHOLDS),
        description='JSON: {"EUR": "5000", "JPY": "750000"}; an order or authorisation at or '
        "above its currency's amount is reviewed; a currency left out is never flagged",
    )

    sanctions_list: Path | None = Field(
        default=None,
        description="a sanctions list in the OFAC SDN CSV layout (sdn.csv); unset turns "
        "sanctions screening off",
    )
    sanctions_alt_names: Path | None = Field(
        default=None,
        description="its alternate names in the OFAC ALT CSV layout (alt.csv); needs "
        "sanctions_list",
    )
    sanctions_threshold: int = Field(
        default=DEFAULT_SANCTIONS_THRESHOLD,
        ge=MIN_SANCTIONS_THRESHOLD,
        le=MAX_SANCTIONS_THRESHOLD,
        description="a party name scoring at or above this (token_sort_ratio, 0-100) against a "
        "listed name raises a sanctions alert",
    )

    missing_payment_grace_days: int = Field(
        default=3, ge=0, le=365, description="missing_payment: days past an invoice's due date"
    )
    settlement_grace_days: int = Field(
        default=1, ge=0, le=60, description="settlement_delayed: days past a payout's arrival date"
    )
    fulfilment_sla_hours: int = Field(
        default=48, ge=1, le=24 * 90, description="order_stalled: hours after payment to ship"
    )
    orphan_payment_grace_hours: int = Field(
        default=24, ge=1, le=24 * 90,
        description="orphan_payment: hours a payment may wait for an order or invoice",
    )  # fmt: skip
    bank_line_grace_days: int = Field(
        default=2, ge=0, le=90,
        description="unmatched_bank_line: days a referenced line may wait for its counterpart",
    )  # fmt: skip
    amount_tolerance: Decimal = Field(
        default=Decimal(0), ge=0, description="amount_mismatch: absolute difference let through"
    )
    amount_tolerance_percent: Decimal = Field(
        default=Decimal(0), ge=0, le=100,
        description="amount_mismatch: difference let through, in percent of the expected amount",
    )  # fmt: skip
    fee_tolerance_percent: Decimal = Field(
        default=Decimal(2), ge=0, le=100,
        description="fee_mismatch: the largest shortfall read as a fee, in percent",
    )  # fmt: skip
    retry_limits: dict[str, tuple[int, int]] = Field(
        default_factory=lambda: {"visa": (15, 720), "mastercard": (10, 24), "other": (8, 720)},
        description='retry_exhausted, JSON: {"visa": [15, 720]}: network -> [failed attempts, '
        'within hours]; "other" covers every network not listed',
    )

    @property
    def duplicate_window(self) -> timedelta:
        return timedelta(minutes=self.duplicate_charge_window_minutes)

    @field_validator("retry_limits")
    @classmethod
    def _retry_limits(cls, value: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        if "other" not in value:
            raise ValueError('must include "other", the limit for networks not listed')
        for network, (attempts, hours) in value.items():
            if attempts < 1 or hours < 1:
                raise ValueError(f"{network}: attempts and hours must be at least 1")
        return value

    def domain(self, sanctions: RuleSpec | None = None) -> DetectorSettings:
        """The detectors' own settings, with the sanctions screen built from the list."""
        return DetectorSettings(
            duplicate_window=self.duplicate_window,
            high_value_thresholds=self.high_value_thresholds,
            sanctions=sanctions,
            payment_grace=timedelta(days=self.missing_payment_grace_days),
            settlement_grace=timedelta(days=self.settlement_grace_days),
            fulfilment_sla=timedelta(hours=self.fulfilment_sla_hours),
            orphan_grace=timedelta(hours=self.orphan_payment_grace_hours),
            bank_line_grace=timedelta(days=self.bank_line_grace_days),
            retry_limits={
                network.lower(): (attempts, timedelta(hours=hours))
                for network, (attempts, hours) in self.retry_limits.items()
            },
            amount_tolerance=self.amount_tolerance,
            amount_tolerance_percent=self.amount_tolerance_percent,
            fee_tolerance_percent=self.fee_tolerance_percent,
        )

    @field_validator("high_value_thresholds")
    @classmethod
    def _thresholds(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, threshold in value.items():
            if not is_currency(currency):
                raise ValueError(f"unknown ISO 4217 currency code {currency!r}")
            try:
                check_amount(threshold, currency)
            except InvalidInputError as exc:
                raise ValueError(f"{currency}: {exc.message}") from None
            if threshold <= 0:
                raise ValueError(f"{currency}: the threshold must be positive")
        return value

    @model_validator(mode="after")
    def _alt_names_need_a_list(self) -> DetectionSettings:
        if self.sanctions_alt_names is not None and self.sanctions_list is None:
            raise ValueError(
                "RECOUP_DETECTION__SANCTIONS_ALT_NAMES is set but "
                "RECOUP_DETECTION__SANCTIONS_LIST is not"
            )
        return self


WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_workdays(text: str) -> frozenset[int]:
    """Weekday numbers (0 = Monday) from ``"mon,tue,wed"``, full names, or ranges such as
    ``"mon-fri"`` and ``"sun-thu"`` (a range may wrap past Sunday)."""

    def number(name: str) -> int:
        key = name.strip().lower()
        for index, short in enumerate(WEEKDAY_NAMES):
            if key == short or (len(key) > 3 and key.startswith(short) and key.endswith("day")):
                return index
        raise ValueError(
            f"unknown weekday {name.strip()!r} (use mon, tue, wed, thu, fri, sat, sun)"
        )

    days: set[int] = set()
    for part in text.split(","):
        if not part.strip():
            continue
        first, dash, last = part.partition("-")
        if not dash:
            days.add(number(first))
            continue
        day, end = number(first), number(last)
        days.add(day)
        while day != end:
            day = (day + 1) % 7
            days.add(day)
    if not days:
        raise ValueError("at least one workday is needed")
    return frozenset(days)


class CalendarSettings(_Section):
    """When SLA clocks run. Off (the default), they run 24/7."""

    business_hours: bool = Field(
        default=False,
        description="count SLA goals and deadlines in business hours only; false runs them 24/7",
    )
    timezone: str = Field(
        default="UTC", description="IANA time zone of the hours, e.g. Europe/Berlin"
    )
    workdays: str = Field(
        default="mon,tue,wed,thu,fri",
        description="working weekdays: mon,tue,... or a range such as mon-fri or sun-thu",
    )
    opens: time = Field(default=time(9, 0), description="local opening time, HH:MM")
    closes: time = Field(default=time(17, 0), description="local closing time, HH:MM")
    holiday_country: str | None = Field(
        default=None, description="public holidays of this country (ISO 3166-1, e.g. DE)"
    )
    holiday_subdivision: str | None = Field(
        default=None, description="and of this subdivision (e.g. BY); needs holiday_country"
    )
    holidays_file: Path | None = Field(
        default=None,
        description="extra days off: one ISO date (YYYY-MM-DD) a line, # comments",
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name such as Europe/Berlin)"
            ) from None
        return value

    @field_validator("workdays")
    @classmethod
    def _workdays(cls, value: str) -> str:
        return ",".join(WEEKDAY_NAMES[d] for d in sorted(parse_workdays(value)))

    @field_validator("opens", "closes")
    @classmethod
    def _local_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a local wall-clock time takes no zone offset (set timezone)")
        return value

    @field_validator("holiday_country", "holiday_subdivision")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip().upper() or None

    @model_validator(mode="after")
    def _consistent(self) -> CalendarSettings:
        if self.closes <= self.opens:
            raise ValueError(
                f"RECOUP_CALENDAR__CLOSES ({self.closes:%H:%M}) must be after "
                f"RECOUP_CALENDAR__OPENS ({self.opens:%H:%M})"
            )
        if self.holiday_subdivision is not None and self.holiday_country is None:
            raise ValueError(
                "RECOUP_CALENDAR__HOLIDAY_SUBDIVISION is set but "
                "RECOUP_CALENDAR__HOLIDAY_COUNTRY is not"
            )
        if self.holiday_country is not None:
            try:
                check_region(self.holiday_country, self.holiday_subdivision)
            except InvalidInputError as exc:
                raise ValueError(exc.message) from None
        return self

    @property
    def workday_numbers(self) -> frozenset[int]:
        return parse_workdays(self.workdays)

    def domain(self, today: date) -> Calendar:
        """The SLA calendar: :data:`ALWAYS` unless ``business_hours``; otherwise the hours with
        the public holidays of the years ``today.year - 1`` to ``today.year + 2`` and the days
        of the holidays file (which raises :class:`InvalidInputError` naming file and line)."""
        if not self.business_hours:
            return ALWAYS
        days: frozenset[date] = frozenset()
        if self.holiday_country is not None:
            years = range(today.year - 1, today.year + 3)
            days |= holidays_for(self.holiday_country, years, self.holiday_subdivision)
        if self.holidays_file is not None:
            days |= read_holiday_file(self.holidays_file)
        return BusinessCalendar(
            timezone=self.timezone,
            workdays=self.workday_numbers,
            opens=self.opens,
            closes=self.closes,
            holidays=days,
        )


class WebhookSource(_Section):
    """One inbound webhook endpoint: ``POST /hooks/<name>``."""

    provider: Literal["stripe", "shopify", "adyen", "paypal", "generic"]
    secret: SecretStr | None = Field(default=None, description="signing secret or HMAC key")
    tolerance_seconds: int = Field(default=300, ge=1, description="timestamp tolerance")
    allow_networks: list[str] = Field(
        default_factory=list, description="PayPal allow-list mode: accepted client networks"
    )


class WebhookSettings(_Section):
    sources: dict[str, WebhookSource] = Field(
        default_factory=dict,
        description='JSON: {"stripe": {"provider": "stripe", "secret": "whsec_..."}}',
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="larger bodies get 413")
    max_batch: int = Field(default=2000, ge=1, description="records per group commit")
    max_wait_ms: int = Field(default=5, ge=0, description="how long a commit waits for company")
    commit_delay_ms: int = Field(
        default=0, ge=0, description="pause before each commit: for crash tests only"
    )


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64, description="server processes")
    worker: bool = Field(
        default=True,
        description="run the worker (timers, recovery, writebacks, outbound webhooks) inside "
        "each server process; turn off when `recoup worker` runs separately",
    )
    worker_interval: float = Field(default=5.0, gt=0, description="seconds between idle rounds")


class PolicySettings(_Section):
    path: Path | None = Field(
        default=None,
        description="a folder of JDM decision graphs (decide.json and its sub-decisions); unset "
        "uses the packaged default pack; validated on start",
    )
    teams_file: Path | None = Field(
        default=None,
        description="a TOML file of teams, their members and how new cases are assigned "
        "(least_loaded or round_robin); unset leaves new cases in their queue",
    )


class WritebackSettings(_Section):
    target: Literal["none", "file", "webhook", "stripe", "shopify"] = Field(
        default="none",
        description="where outcomes are written back: none (cases resolve at once), a file "
        "folder, a signed webhook, Stripe or Shopify",
    )
    folder: Path = Field(
        default=Path("recoup-writeback"), description="with target file: the folder to drop into"
    )
    file_format: Literal["json", "csv"] = "json"
    webhook_url: str | None = Field(default=None, description="with target webhook: the URL")
    webhook_secret: SecretStr | None = Field(
        default=None, description="with target webhook: the signing secret (16 bytes or more)"
    )
    stripe_api_key: SecretStr | None = None
    stripe_base_url: str | None = Field(default=None, description="only to point at a test server")
    shopify_shop_url: str | None = None
    shopify_access_token: SecretStr | None = None
    shopify_api_version: str = "2025-07"
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    max_attempts: int = Field(
        default=14, ge=1, le=100, description="attempts before a writeback goes to dead letter"
    )
    lease_seconds: float = Field(
        default=300.0, gt=0, description="a writeback claimed by a worker that died is resent after"
    )


class RecoverySettings(_Section):
    enabled: bool = Field(
        default=True, description="climb ladders for new cases (off: cases are only routed)"
    )
    gateway: Literal["none", "simulator", "stripe"] = Field(
        default="none",
        description="the payment service provider retries go to; none: retry steps are skipped "
        "and the ladder goes on; simulator: seeded, for demos and tests",
    )
    simulator_seed: int = 7
    stripe_api_key: SecretStr | None = None
    stripe_base_url: str | None = Field(default=None, description="only to point at a test server")
    outreach_channels: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='channel name -> notification URL, e.g. {"email": "mailtos://user:pass@host"}'
        "; unset: outreach steps are recorded as not sent",
    )
    language: str = Field(default="en", description="outreach language when the case has none")
    merchant_name: str = Field(default="our team", description="who messages are signed by")
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="where self-service links point"
    )
    max_contacts_per_week: int = Field(default=2, ge=1, le=50)
    min_contact_gap_hours: int = Field(default=48, ge=0, le=24 * 30)
    review_after_contacts: int = Field(default=3, ge=1, le=50)
    selfservice_ttl_hours: int = Field(default=72, ge=1, le=24 * 30)
    lease_seconds: float = Field(
        default=300.0, gt=0, description="a step claimed by a worker that died is retried after"
    )
    accounting: bool = Field(default=True, description="post journal entries for outcomes")
    external_accounting: bool = Field(
        default=False, description="journal entries are also written back to the ledger system"
    )
    chart_file: Path | None = Field(
        default=None, description="a TOML chart of accounts; unset uses the default chart"
    )


class SecuritySettings(_Section):
    secret_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET), description="signs links and tokens; set one in prod"
    )


class RetentionSettings(_Section):
    raw_payload_days: int | None = Field(
        default=None,
        ge=1,
        description="redact raw payloads (events, resolved quarantine) older than this many "
        "days, keeping their SHA-256; unset keeps them forever",
    )
    batch: int = Field(default=2000, ge=1, description="payloads redacted per transaction")


class WebSettings(_Section):
    """The REST API, the pages and their identity rules (owned by the API/pages code)."""

    session_hours: float = Field(default=12.0, gt=0, description="a login lasts this long")
    cookie_secure: bool = Field(
        default=True, description="send the session cookie over HTTPS only (off for local HTTP)"
    )
    login_attempts: int = Field(
        default=5, ge=1, description="failed logins per user and address before a lockout"
    )
    login_lockout_minutes: float = Field(
        default=15.0, gt=0, description="failed logins are counted over this window"
    )
    write_off_approval_above: Decimal = Field(
        default=Decimal("500"),
        ge=0,
        description="write-offs above this amount (case currency) need a second person",
    )
    approval_hours: float = Field(
        default=72.0, gt=0, description="an approval request nobody decided expires after this"
    )
    password_min_length: int = Field(
        default=12, ge=8, le=128, description="the shortest password a user may set"
    )
    max_request_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="the largest request body the API and pages accept (413 above it, before "
        "any of it is parsed); evidence attachments are at most 10 MiB",
    )


class NotifySettings(_Section):
    """Outbound webhooks for case events (owned by the notify code)."""

    max_attempts: int = Field(
        default=8, ge=1, le=100, description="attempts before a delivery is dead (first included)"
    )
    timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="how long one delivery waits for an answer"
    )
    backoff_base_seconds: float = Field(
        default=30.0, gt=0, description="the wait after the first failed attempt; it doubles"
    )
    backoff_cap_seconds: float = Field(
        default=21600.0, gt=0, description="the longest wait between two attempts"
    )
    batch: int = Field(default=100, ge=1, le=10_000, description="deliveries claimed at once")
    metrics_key: SecretStr | None = Field(
        default=None,
        description="when set, GET /metrics needs `Authorization: Bearer <key>`; when unset it "
        "is open (scrape it from inside the network only)",
    )


class AssistSettings(_Section):
    """Learned triage suggestions, spike alerts and summaries (owned by the assist code)."""

    min_labels: int = Field(default=200, ge=1, description="no suggestions before this many")
    band: float = Field(
        default=0.9,
        ge=0.5,
        le=1.0,
        description="confidence from which a suggestion fills an open field; below, a person",
    )
    models_dir: Path = Field(
        default=Path("recoup-models"),
        description="where trained models are kept (only Recoup should write here)",
    )
    holdout: float = Field(
        default=0.2, gt=0.0, lt=0.5, description="share of labeled cases held out to evaluate"
    )
    max_labels: int = Field(
        default=50_000, ge=1, description="most recently resolved cases read to train"
    )
    spike_window_hours: float = Field(
        default=24, gt=0, description="the current window a spike is looked for in"
    )
    spike_baseline_days: float = Field(
        default=14, gt=0, description="the baseline window before the current one"
    )
    spike_min_count: int = Field(
        default=10, ge=1, description="fewest failures on one value that can raise an alert"
    )
    spike_min_lift: float = Field(
        default=2.0, gt=1.0, description="share over baseline share that counts as a spike"
    )
    spike_alpha: float = Field(
        default=0.001,
        gt=0,
        lt=1,
        description="significance of the binomial test, split over the cells tested",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    environment: Literal["dev", "test", "prod"] = "dev"
    database: DatabaseSettings = DatabaseSettings()
    ingest: IngestSettings = IngestSettings()
    detection: DetectionSettings = DetectionSettings()
    webhooks: WebhookSettings = WebhookSettings()
    server: ServerSettings = ServerSettings()
    security: SecuritySettings = SecuritySettings()
    policy: PolicySettings = PolicySettings()
    calendar: CalendarSettings = CalendarSettings()
    writeback: WritebackSettings = WritebackSettings()
    recovery: RecoverySettings = RecoverySettings()
    retention: RetentionSettings = RetentionSettings()
    web: WebSettings = WebSettings()
    notify: NotifySettings = NotifySettings()
    assist: AssistSettings = AssistSettings()

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Settings:
        if self.environment == "prod" and self.security.secret_key.get_secret_value() in (
            DEV_SECRET,
            "",
        ):
            raise ValueError("RECOUP_SECURITY__SECRET_KEY must be set outside dev")
        if self.environment == "prod":
            for name, source in self.webhooks.sources.items():
                if source.secret is None and not source.allow_networks:
                    raise ValueError(f"webhook source {name!r} needs a secret outside dev")
        return self


def _known_env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.add(f"{PREFIX}{name}".upper())
            for sub in annotation.model_fields:
                names.add(f"{PREFIX}{name}__{sub}".upper())
        else:
            names.add(f"{PREFIX}{name}".upper())
    return names


def load_settings() -> Settings:
    """Build the settings from the process environment, refusing unknown ``RECOUP_`` names."""
    known = _known_env_names()
    unknown = sorted(
        k for k in os.environ if k.upper().startswith(PREFIX) and k.upper() not in known
    )
    if unknown:
        raise ConfigurationError(f"unknown setting {unknown[0]}; see `recoup config show`")
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if not first["loc"]:
            raise ConfigurationError(message) from None
        where = "__".join(str(p) for p in first["loc"]).upper()
        raise ConfigurationError(f"setting {PREFIX}{where}: {message}") from None


def redacted(settings: Settings) -> dict[str, object]:
    """The effective settings with secrets hidden, for `recoup config show`."""
    data = settings.model_dump(mode="json")
    data["database"]["url"] = _redact_url(settings.database.url.get_secret_value())
    data["security"]["secret_key"] = "**********"  # noqa: S105 - the redaction mask
    for source in data["webhooks"]["sources"].values():
        if source.get("secret") is not None:
            source["secret"] = "**********"  # noqa: S105 - the redaction mask
    return data


def _redact_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
