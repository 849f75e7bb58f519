"""The composition root: settings -> engine -> unit of work, clock, detectors.

Nothing is created at import time; entrypoints call :func:`bootstrap` once and pass what it
returns down. Tests call it with their own settings and a fixed clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr

from recoup.adapters.assist.wiring import assist_options, assist_tools
from recoup.adapters.clock import SystemClock
from recoup.adapters.connectors.webhooks.providers import (
    ProviderConfig,
    WebhookProvider,
    build_providers,
)
from recoup.adapters.ledger_files import load_chart
from recoup.adapters.notify.http import http_delivering
from recoup.adapters.outreach.channels import channels_from_urls
from recoup.adapters.outreach.templates import default_templates
from recoup.adapters.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy
from recoup.adapters.policy.ladders import load_ladders
from recoup.adapters.policy.liability import (
    PROVISIONAL_CREDIT_FILE,
    ZenProvisionalCredit,
    load_provisional_credit,
)
from recoup.adapters.psp.simulator import SimulatedGateway
from recoup.adapters.psp.stripe_gateway import StripeGateway
from recoup.adapters.sanctions_list import load_sanctions_list
from recoup.adapters.store import migrate
from recoup.adapters.store.engine import create_engine
from recoup.adapters.store.uow import SqlUnitOfWork
from recoup.adapters.teams_file import load_teams
from recoup.adapters.writeback.file_drop import FileDropWriteback
from recoup.adapters.writeback.http_webhook import HttpWebhookWriteback
from recoup.adapters.writeback.shopify_records import ShopifyRecordsWriteback
from recoup.adapters.writeback.stripe_records import StripeRecordsWriteback
from recoup.domain.cases.teams import NO_TEAMS, TeamDirectory
from recoup.domain.detection.detectors import Detectors, RuleSpec
from recoup.domain.detection.sanctions import SanctionsScreen
from recoup.domain.errors import ConfigurationError, InvalidInputError, RecoupError
from recoup.domain.policy import PolicyEngine
from recoup.domain.ports import Clock
from recoup.domain.recovery.ladder import LadderSpec
from recoup.domain.recovery.ledger import DEFAULT_CHART, ChartOfAccounts, LedgerOptions
from recoup.domain.recovery.outreach import ContactRules, OutreachChannel
from recoup.domain.recovery.psp import PaymentGateway
from recoup.domain.recovery.writeback import WritebackPort
from recoup.services.approvals import Executors
from recoup.services.metrics import rebuild_metrics
from recoup.services.notify import Delivering
from recoup.services.recovery import Recovery
from recoup.services.worker import Periodic, Writeback, run_worker
from recoup.services.writeback import writeback_resolver
from recoup.settings import DetectionSettings as DetectionConfig
from recoup.settings import Settings, load_settings

METRICS_REVISION = "0009"
"""The migration that added the metric summary tables."""


@dataclass
class App:
    settings: Settings
    engine: sa.Engine
    clock: Clock
    detectors: Detectors = field(repr=False)
    policy: PolicyEngine = field(repr=False)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def reader(self) -> SqlUnitOfWork:
        """A read-only unit of work: on SQLite it does not take the write lock."""
        return SqlUnitOfWork(self.engine, readonly=True)

    @property
    def uow_factory(self) -> Callable[[], SqlUnitOfWork]:
        return self.uow

    def schema_is_current(self) -> bool:
        return migrate.current_revision(self.engine) == migrate.head_revision()

    def ensure_schema(self) -> None:
        """Apply pending migrations if allowed; otherwise refuse to run on an old schema."""
        if self.schema_is_current():
            return
        if not self.settings.database.auto_upgrade:
            raise ConfigurationError(
                "the database schema is not current; run `recoup db upgrade` first"
            )
        self.upgrade_schema()

    def upgrade_schema(self) -> tuple[str | None, str]:
        """Apply pending migrations; a store that had cases before the metric summaries existed
        (migration 0009) gets them computed once. Returns (before, after)."""
        before, after = migrate.upgrade(self.engine)
        if before is not None and before < METRICS_REVISION <= after:
            rebuild_metrics(uow=self.uow, clock=self.clock, actor="system:upgrade")
        return before, after

    def webhook_providers(self) -> dict[str, WebhookProvider]:
        """The configured ``POST /hooks/{source}`` endpoints."""
        configs = {
            name: ProviderConfig(
                provider=source.provider,
                secret=None if source.secret is None else source.secret.get_secret_value(),
                tolerance_seconds=source.tolerance_seconds,
                allow_networks=tuple(source.allow_networks),
            )
            for name, source in self.settings.webhooks.sources.items()
        }
        return build_providers(configs)

    def close(self) -> None:
        self.engine.dispose()

    def notify_delivering(self) -> Delivering:
        """How the worker sends outbound webhooks for case events."""
        s = self.settings.notify
        return http_delivering(
            max_attempts=s.max_attempts,
            timeout_seconds=s.timeout_seconds,
            backoff_base_seconds=s.backoff_base_seconds,
            backoff_cap_seconds=s.backoff_cap_seconds,
            chunk=s.batch,
        )

    def periodic(self) -> Periodic:
        """The worker's periodic work: assist suggestions and spike scans, retention."""
        return Periodic(
            assist_tools=assist_tools(self.settings.assist),
            assist_options=assist_options(self.settings.assist),
            retention_days=self.settings.retention.raw_payload_days,
            retention_batch=self.settings.retention.batch,
        )

    def run_worker(self, **options: Any) -> int:
        """Run worker rounds with everything configured (recovery, writeback); ``options`` go
        to :func:`recoup.services.worker.run_worker` (interval, rounds, on_round, should_stop)."""
        port = self.writeback_port()
        return run_worker(
            uow=self.uow,
            clock=self.clock,
            detectors=self.detectors,
            policy=self.policy,
            recovery=self.recovery() if self.settings.recovery.enabled else None,
            writeback=None
            if port is None
            else Writeback(
                port,
                max_attempts=self.settings.writeback.max_attempts,
                lease=timedelta(seconds=self.settings.writeback.lease_seconds),
            ),
            notify=self.notify_delivering(),
            periodic=self.periodic(),
            **options,
        )

    def writeback_port(self) -> WritebackPort | None:
        """The system-of-record adapter writebacks go to; None when writeback is off."""
        return writeback_port(self.settings, self.clock)

    def gateway(self) -> PaymentGateway | None:
        """The payment service provider retries go to; None when none is configured."""
        return payment_gateway(self.settings, self.clock)

    def recovery(self) -> Recovery:
        """What the recovery runner works with: ladders, PSP, channels, contact rules."""
        rec = self.settings.recovery
        return Recovery(
            ladders=self.policy.ladders,
            gateway=self.gateway(),
            channel=self.outreach(),
            composer=default_templates(),
            rules=ContactRules(
                max_per_week=rec.max_contacts_per_week,
                min_gap=timedelta(hours=rec.min_contact_gap_hours),
                review_after=rec.review_after_contacts,
            ),
            language=rec.language,
            merchant_name=rec.merchant_name,
            public_url=rec.public_url,
            secret=self.settings.security.secret_key.get_secret_value().encode(),
            link_ttl=timedelta(hours=rec.selfservice_ttl_hours),
            resolve=writeback_resolver(self.settings.writeback.target),
            ledger=self.ledger_options(),
            chart=chart_of_accounts(self.settings),
            lease=timedelta(seconds=rec.lease_seconds),
        )  # fmt: skip

    def ledger_options(self) -> LedgerOptions:
        """Whether and where outcomes are posted (``RECOUP_RECOVERY__ACCOUNTING`` ...)."""
        rec = self.settings.recovery
        return LedgerOptions(
            accounting_enabled=rec.accounting,
            external_accounting=rec.external_accounting,
            external_target=self.settings.writeback.target,
        )

    def provisional_credit_policy(self) -> ZenProvisionalCredit:
        """The policy folder's provisional-credit table when it has one, else the packaged one."""
        folder = self.settings.policy.path
        if folder is not None and (folder / PROVISIONAL_CREDIT_FILE).is_file():
            return load_provisional_credit(folder)
        return load_provisional_credit()

    def approval_executors(self) -> Executors:
        """What an approved sensitive action runs with, for the API and the pages alike."""
        return Executors(
            uow=self.uow,
            clock=self.clock,
            ledger=self.ledger_options(),
            chart=chart_of_accounts(self.settings),
            writeback_target=self.settings.writeback.target,
            credit_policy=self.provisional_credit_policy,
        )

    def outreach(self) -> OutreachChannel | None:
        """The customer channels (by name) messages go through; None when none is configured."""
        urls = self.settings.recovery.outreach_channels
        if not urls:
            return None
        return channels_from_urls(
            {name: url.get_secret_value() for name, url in urls.items()}, clock=self.clock
        )


def bootstrap(settings: Settings | None = None, *, clock: Clock | None = None) -> App:
    settings = settings or load_settings()
    engine = create_engine(
        settings.database.url.get_secret_value(),
        echo=settings.database.echo,
        sqlite_synchronous=settings.database.sqlite_synchronous,
    )
    detectors = Detectors(settings.detection.domain(sanctions_rule(settings.detection)))
    clock = clock or SystemClock()
    policy = policy_engine(settings)
    policy.calendar = settings.calendar.domain(clock.now().date())
    policy.teams = teams_directory(settings)
    if settings.recovery.enabled:
        policy.ladders = recovery_ladders(settings)
    return App(settings=settings, engine=engine, clock=clock, detectors=detectors, policy=policy)


def teams_directory(settings: Settings) -> TeamDirectory:
    """The teams file, read once at start; a bad file stops the start naming it."""
    path = settings.policy.teams_file
    if path is None:
        return NO_TEAMS
    try:
        return load_teams(path)
    except InvalidInputError as exc:
        raise ConfigurationError(f"setting RECOUP_POLICY__TEAMS_FILE: {exc}") from exc


def policy_engine(settings: Settings) -> PolicyEngine:
    """The policy pack, validated once at start; a broken pack stops the start naming the
    setting, the file, the node and the rule."""
    path = settings.policy.path or DEFAULT_POLICY_PATH
    try:
        return load_policy(path)
    except PolicyError as exc:
        raise ConfigurationError(f"setting RECOUP_POLICY__PATH ({path}): {exc.message}") from exc


def sanctions_rule(detection: DetectionConfig) -> RuleSpec | None:
    """The sanctions screen over the configured list, or None (screening off) when no list is
    set. The list is read once, here, at start; a file that cannot be read or has a malformed
    row stops the start naming the setting, the file and the line."""
    if detection.sanctions_list is None:
        return None
    try:
        sanctions = load_sanctions_list(detection.sanctions_list, detection.sanctions_alt_names)
    except InvalidInputError as exc:
        alt = detection.sanctions_alt_names
        name = "SANCTIONS_ALT_NAMES" if alt and exc.location.file == str(alt) else "SANCTIONS_LIST"
        raise ConfigurationError(f"setting RECOUP_DETECTION__{name}: {exc}") from exc
    return SanctionsScreen(sanctions, detection.sanctions_threshold).spec


def _secret(value: SecretStr | None, name: str) -> str:
    if value is None or not value.get_secret_value():
        raise ConfigurationError(f"setting RECOUP_{name} is required")
    return value.get_secret_value()


def writeback_port(settings: Settings, clock: Clock) -> WritebackPort | None:
    """The configured writeback adapter; a missing setting stops the start naming it."""
    wb = settings.writeback
    if wb.target == "none":
        return None
    if wb.target == "file":
        wb.folder.mkdir(parents=True, exist_ok=True)
        return FileDropWriteback(wb.folder, wb.file_format)
    if wb.target == "webhook":
        if not wb.webhook_url:
            raise ConfigurationError("setting RECOUP_WRITEBACK__WEBHOOK_URL is required")
        return HttpWebhookWriteback(wb.webhook_url, _secret(wb.webhook_secret,
                                    "WRITEBACK__WEBHOOK_SECRET"), timeout=wb.timeout_seconds,
                                    clock=clock)  # fmt: skip
    if wb.target == "stripe":
        key = _secret(wb.stripe_api_key, "WRITEBACK__STRIPE_API_KEY")
        return StripeRecordsWriteback(key, base_url=wb.stripe_base_url, timeout=wb.timeout_seconds)
    if not wb.shopify_shop_url:
        raise ConfigurationError("setting RECOUP_WRITEBACK__SHOPIFY_SHOP_URL is required")
    return ShopifyRecordsWriteback(
        wb.shopify_shop_url, _secret(wb.shopify_access_token, "WRITEBACK__SHOPIFY_ACCESS_TOKEN"),
        api_version=wb.shopify_api_version, timeout=wb.timeout_seconds, clock=clock,
    )  # fmt: skip


def payment_gateway(settings: Settings, clock: Clock) -> PaymentGateway | None:
    """The configured PSP adapter for retries, or None."""
    rec = settings.recovery
    if rec.gateway == "none":
        return None
    if rec.gateway == "simulator":
        return SimulatedGateway(rec.simulator_seed, clock)
    return StripeGateway(_secret(rec.stripe_api_key, "RECOVERY__STRIPE_API_KEY"),
                         base_url=rec.stripe_base_url)  # fmt: skip


def recovery_ladders(settings: Settings) -> dict[str, LadderSpec]:
    """The ladders of the policy folder (or the default pack's), read once at start."""
    try:
        return load_ladders(settings.policy.path)
    except RecoupError as exc:
        raise ConfigurationError(f"setting RECOUP_POLICY__PATH: {exc.message}") from exc


def chart_of_accounts(settings: Settings) -> ChartOfAccounts:
    """The chart of accounts (the default, or the TOML file's accounts over it)."""
    path = settings.recovery.chart_file
    if path is None:
        return DEFAULT_CHART
    try:
        return load_chart(path)
    except RecoupError as exc:
        raise ConfigurationError(f"setting RECOUP_RECOVERY__CHART_FILE: {exc.message}") from exc
