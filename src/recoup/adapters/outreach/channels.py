"""Send outreach messages through apprise: email over SMTP, and any chat, SMS or webhook
service apprise knows, each configured by one URL.

How the recipient gets into the URL:

- ``mailto://`` and ``mailtos://``: the message's ``to`` is added as the ``to=`` parameter.
  The configured URL must not name recipients itself, or every customer email would also go
  there. Each email carries an ``X-Recoup-Message-Id`` header with the message id.
- any other scheme: a ``{to}`` in the URL is replaced by the recipient (URL-quoted), for SMS
  gateways (``.../{to}``); a URL without ``{to}`` always goes to the same place (a team chat).

apprise reports a send as true or false. The reason for a failure is in its log, so each send
captures the ``apprise`` logger (its warnings, and its debug lines that carry the exception or
the server's answer) into the delivery's ``detail``. The capture hangs on the shared ``apprise``
logger, so sends from several threads at once would mix their reasons: send from one thread
per process (the worker does). Secrets never reach a detail or our log:
URLs are shown as apprise's privacy form (``mailtos://user:****@host``) and every part of the
configured URL that apprise itself hides (passwords, tokens) is masked in captured text.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import re
import warnings
from collections.abc import Mapping
from functools import cache
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit, urlunsplit

import apprise

from recoup.domain.errors import ConfigurationError, InvalidInputError, Location
from recoup.domain.ports import Clock
from recoup.domain.recovery.outreach import (
    BodyFormat,
    Delivery,
    DeliveryStatus,
    OutboundMessage,
    OutreachChannel,
)

log = logging.getLogger(__name__)

EMAIL_SCHEMES = frozenset({"mailto", "mailtos"})
MESSAGE_ID_HEADER = "X-Recoup-Message-Id"
MASK = "****"
_PROBE_RECIPIENT = "probe@example.com"
_DETAIL_LIMIT = 500
_USEFUL_DEBUG = re.compile(r"exception|error|refused|response|timed? ?out|denied", re.IGNORECASE)


class AppriseChannel:
    """One outreach channel (``email``, ``sms``, ...) behind one apprise URL."""

    def __init__(self, name: str, url: str, *, clock: Clock) -> None:
        self.name = name
        self._url = url.strip()
        self._clock = clock
        scheme = urlsplit(self._url).scheme.lower()
        self._is_email = scheme in EMAIL_SCHEMES
        if self._is_email:
            _refuse_fixed_recipients(name, self._url)
        probe = self._url_for(_PROBE_RECIPIENT, "probe")
        plugin = _instantiate(probe)
        if plugin is None:
            raise ConfigurationError(
                f"outreach channel {name}: apprise cannot use the URL {mask_url(self._url)}"
            )
        self.description = _public_url(plugin, path=not self._is_email)

    def send(self, message: OutboundMessage) -> Delivery:
        if message.channel != self.name:
            raise InvalidInputError(
                f"message {message.id} is for channel {message.channel}, not {self.name}",
                location=Location(field="channel"),
            )
        url = self._url_for(message.to, message.id)
        secrets = _secrets(url)
        plugin = _instantiate(url)
        if plugin is None:
            detail = f"apprise cannot use the {self.name} URL for recipient {message.to}"
            return self._delivery(message, DeliveryStatus.FAILED, _mask(detail, secrets))
        target = _public_url(plugin)
        notifier = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
        notifier.add(plugin)
        html = message.body_format is BodyFormat.HTML
        fmt = apprise.NotifyFormat.HTML if html else apprise.NotifyFormat.TEXT
        capture = apprise.LogCapture(level=logging.DEBUG, fmt="%(levelname)s|%(message)s")  # type: ignore[no-untyped-call]
        with capture as lines:
            ok = bool(
                notifier.notify(
                    body=message.body,
                    title=message.subject,
                    body_format=fmt,
                )
            )
        if ok:
            detail = f"sent via {target}"
            return self._delivery(message, DeliveryStatus.SENT, _mask(detail, secrets))
        reason = _reason(lines.getvalue()) or "apprise reported a failure without a reason"
        detail = _mask(f"{target}: {reason}", secrets)
        return self._delivery(message, DeliveryStatus.FAILED, detail)

    def _delivery(self, message: OutboundMessage, status: DeliveryStatus, detail: str) -> Delivery:
        delivery = Delivery(message.id, status, self._clock.now(), detail[:_DETAIL_LIMIT])
        log.info("outreach %s %s via %s: %s", message.id, status.value, self.name,
                 delivery.detail)  # fmt: skip
        return delivery

    def _url_for(self, recipient: str, message_id: str) -> str:
        if not self._is_email:
            return self._url.replace("{to}", quote(recipient, safe="@+"))
        parts = urlsplit(self._url)
        extra = urlencode({"to": recipient, f"+{MESSAGE_ID_HEADER}": message_id}, quote_via=quote)
        query = f"{parts.query}&{extra}" if parts.query else extra
        return urlunsplit(parts._replace(query=query))


class ChannelRouter:
    """Sends each message through the channel its ``channel`` names."""

    def __init__(self, channels: Mapping[str, OutreachChannel]) -> None:
        self.channels = dict(channels)

    def send(self, message: OutboundMessage) -> Delivery:
        channel = self.channels.get(message.channel)
        if channel is None:
            raise ConfigurationError(
                f"no outreach channel {message.channel!r} is configured (message {message.id}); "
                f"configured: {', '.join(sorted(self.channels)) or 'none'}"
            )
        return channel.send(message)


def channels_from_urls(urls: Mapping[str, str], *, clock: Clock) -> ChannelRouter:
    """A router over one ``AppriseChannel`` per ``{channel name: apprise URL}``."""
    return ChannelRouter({name: AppriseChannel(name, url, clock=clock)
                          for name, url in urls.items()})  # fmt: skip


def mask_url(url: str) -> str:
    """``url`` with its secrets hidden: apprise's privacy form where apprise can read it,
    otherwise the password of ``scheme://user:password@host`` replaced."""
    plugin = _instantiate(url)
    if plugin is not None:
        return _public_url(plugin)
    return re.sub(r"(//[^/:@]*:)[^@/]*@", rf"\g<1>{MASK}@", url)


def _public_url(plugin: apprise.NotifyBase, *, path: bool = True) -> str:
    """apprise's privacy form of a service's URL, without its query (apprise's own defaults);
    ``path=False`` leaves out the path too (an email URL's recipient)."""
    parts = urlsplit(_privacy_url(plugin))
    shown = urlunsplit(parts._replace(path=parts.path if path else "", query="", fragment=""))
    return unquote(shown)


def _privacy_url(plugin: apprise.NotifyBase) -> str:
    return str(plugin.url(privacy=True))  # type: ignore[no-untyped-call]


def _refuse_fixed_recipients(name: str, url: str) -> None:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.path.strip("/") or "to" in query:
        raise ConfigurationError(
            f"outreach channel {name}: the email URL {mask_url(url)} names recipients; each "
            "message adds its own, so leave them out"
        )


def _secrets(url: str) -> list[str]:
    """The parts of ``url`` that apprise hides in its privacy form, plus the password."""
    plugin = _instantiate(url)
    public = unquote(_privacy_url(plugin)) if plugin is not None else ""
    parts = urlsplit(url)
    found = {parts.password} if parts.password else set()
    for piece in re.split(r"[/:@?&=#]+", unquote(url)):
        if len(piece) >= 4 and piece not in public:
            found.add(piece)
    return sorted(found, key=len, reverse=True)


def _mask(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK).replace(quote(secret, safe=""), MASK)
    return text


def _reason(captured: str) -> str:
    """The lines of an apprise log that say why a send failed, in order, without repeats."""
    reasons: list[str] = []
    for line in captured.splitlines():
        level, _, text = line.partition("|")
        text = text.strip()
        useful = level in ("WARNING", "ERROR", "CRITICAL") or (
            level == "DEBUG" and _USEFUL_DEBUG.search(text)
        )
        if useful and text and text not in reasons:
            reasons.append(text)
    return "; ".join(reasons)


def _instantiate(url: str) -> apprise.NotifyBase | None:
    _preload_deprecated_modules()
    return apprise.Apprise.instantiate(url, asset=apprise.AppriseAsset(storage_mode="memory"))


@cache
def _preload_deprecated_modules() -> None:
    """Import ``imghdr`` once with its DeprecationWarning silenced.

    apprise's email plugin imports ``imghdr`` (deprecated since Python 3.11, gone in 3.13, where
    apprise ships a shim); that warning is apprise's to fix and would fail any caller that
    treats warnings as errors. Importing it here first, with only that warning ignored, keeps
    every other warning visible.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*imghdr.*", category=DeprecationWarning)
        with contextlib.suppress(ImportError):
            importlib.import_module("imghdr")


__all__ = [
    "EMAIL_SCHEMES",
    "MESSAGE_ID_HEADER",
    "AppriseChannel",
    "ChannelRouter",
    "channels_from_urls",
    "mask_url",
]
