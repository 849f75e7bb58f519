"""Outreach message templates: one folder per template, one set of files per language.

    templates/
      _layout.html                     the HTML frame every ``*.body.html`` extends
      payment_failed/
        en.subject.txt                 one line once rendered (line breaks are folded)
        en.body.txt                    the plain-text body
        en.body.html                   the HTML body (autoescaped)
        de.subject.txt ...

A language is a lowercase tag (``en``, ``de``, ``pt-br``). A request for ``de-AT`` tries
``de-at``, then ``de``, then English; the subject and the body always come from the same
language. Rendering is strict: a variable missing from the context is an error that names the
template file and the variable, never an empty gap in a customer's email. ``.html`` files are
autoescaped; ``.txt`` files are not (they are never read as markup).

Besides the caller's context every template sees ``lang`` (the language used) and ``subject``
(in bodies), and two filters that format for that language: ``money`` (a ``Money``) and
``date`` (a ``date`` or ``datetime``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from recoup.domain.errors import ConfigurationError, InvalidInputError, Location
from recoup.domain.money import Money, currency_exponent
from recoup.domain.recovery.outreach import (
    TEMPLATE_KINDS,
    BodyFormat,
    MessageKind,
    OutboundMessage,
)

DEFAULT_LANGUAGE = "en"
PACKAGE_TEMPLATES = Path(__file__).with_name("templates")

_SEPARATORS = {"en": (",", "."), "de": (".", ","), "fr": ("\u202f", ",")}
"""(thousands, decimal) separators per language; others use English's."""
_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"),
}  # fmt: skip
_DATE_FORMATS = {"en": "{d} {month} {y}", "de": "{d}. {month} {y}", "fr": "{d} {month} {y}"}
_UNDEFINED = (re.compile(r"'([^']+)' is undefined"), re.compile(r"has no attribute '([^']+)'"))


class OutreachTemplates:
    """The templates in one folder (the packaged ones unless a deployment brings its own)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or PACKAGE_TEMPLATES
        if not self.directory.is_dir():
            raise ConfigurationError(f"outreach templates folder {self.directory} does not exist")
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.directory),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False,
                                                default_for_string=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )  # fmt: skip
        self._env.filters["money"] = jinja2.pass_context(_money_filter)
        self._env.filters["date"] = jinja2.pass_context(_date_filter)

    def names(self) -> list[str]:
        """The templates in the folder (sub-folders not starting with ``_``)."""
        return sorted(
            p.name for p in self.directory.iterdir() if p.is_dir() and not p.name.startswith("_")
        )

    def languages(self, template: str) -> list[str]:
        """The languages ``template`` has a subject for."""
        folder = self._folder(template)
        return sorted(p.name.removesuffix(".subject.txt") for p in folder.glob("*.subject.txt"))

    def resolve_language(
        self, template: str, language: str, body_format: BodyFormat = BodyFormat.TEXT
    ) -> str:
        """The language actually used for a request: the tag, its primary subtag, or English."""
        folder = self._folder(template)
        for candidate in _candidates(language):
            if (folder / f"{candidate}.subject.txt").is_file() and (
                folder / _body_name(candidate, body_format)
            ).is_file():
                return candidate
        raise ConfigurationError(
            f"outreach template {template!r} has no {body_format.value} version in "
            f"{language!r} nor in {DEFAULT_LANGUAGE!r} (folder {folder})"
        )

    def render(
        self,
        template: str,
        language: str,
        context: Mapping[str, Any],
        *,
        body_format: BodyFormat = BodyFormat.TEXT,
    ) -> tuple[str, str]:
        """(subject, body) of ``template`` in ``language`` (or its fallback)."""
        lang = self.resolve_language(template, language, body_format)
        values = {**context, "lang": lang}
        subject = " ".join(self._render(f"{template}/{lang}.subject.txt", values).split())
        body = self._render(f"{template}/{_body_name(lang, body_format)}",
                            {**values, "subject": subject})  # fmt: skip
        return subject, body.strip() + "\n"

    def variables(self, template: str, language: str) -> set[str]:
        """The context variables the subject and bodies of one language refer to."""
        found: set[str] = set()
        for fmt in BodyFormat:
            for name in (f"{language}.subject.txt", _body_name(language, fmt)):
                path = f"{template}/{name}"
                if (self.directory / path).is_file():
                    source = (self.directory / path).read_text(encoding="utf-8")
                    found |= meta.find_undeclared_variables(self._env.parse(source))
        return found - {"lang", "subject"}

    def message(
        self,
        template: str,
        language: str,
        context: Mapping[str, Any],
        *,
        case_id: str,
        key: str,
        channel: str,
        to: str,
        body_format: BodyFormat = BodyFormat.TEXT,
        kind: MessageKind | None = None,
    ) -> OutboundMessage:
        """Render and wrap as a message (id derived from case, template and ``key``)."""
        lang = self.resolve_language(template, language, body_format)
        subject, body = self.render(template, lang, context, body_format=body_format)
        return OutboundMessage.compose(
            case_id=case_id, template=template, key=key, channel=channel, to=to,
            subject=subject, body=body, language=lang, kind=kind or TEMPLATE_KINDS.get(template),
            body_format=body_format,
        )  # fmt: skip

    def _folder(self, template: str) -> Path:
        folder = self.directory / template
        if template.startswith(("_", ".")) or "/" in template or not folder.is_dir():
            raise InvalidInputError(
                f"no outreach template {template!r}; there are {', '.join(self.names())}",
                location=Location(file=str(self.directory), field="template"),
            )
        return folder

    def _render(self, name: str, values: Mapping[str, Any]) -> str:
        try:
            return self._env.get_template(name).render(values)
        except jinja2.UndefinedError as exc:
            variable = _undefined_name(str(exc))
            raise InvalidInputError(
                f"variable {variable!r} is missing from the context",
                location=Location(file=name, field=variable),
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigurationError(
                f"outreach template {exc.name or name} line {exc.lineno}: {exc.message}"
            ) from None


@cache
def default_templates() -> OutreachTemplates:
    return OutreachTemplates()


def render(template: str, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, plain-text body) of a packaged template; see ``OutreachTemplates.render``."""
    return default_templates().render(template, language, context)


def _candidates(language: str) -> list[str]:
    tag = language.strip().lower().replace("_", "-")
    out = [tag] if tag else []
    primary = tag.split("-", 1)[0]
    if primary and primary not in out:
        out.append(primary)
    if DEFAULT_LANGUAGE not in out:
        out.append(DEFAULT_LANGUAGE)
    return [c for c in out if re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{1,8})*", c)]


def _body_name(language: str, body_format: BodyFormat) -> str:
    return f"{language}.body.{'html' if body_format is BodyFormat.HTML else 'txt'}"


def _undefined_name(message: str) -> str:
    for pattern in _UNDEFINED:
        match = pattern.search(message)
        if match:
            return match.group(1)
    return message


def _language(ctx: jinja2.runtime.Context) -> str:
    lang = str(ctx.get("lang", DEFAULT_LANGUAGE))
    return lang.split("-", 1)[0]


def _money_filter(ctx: jinja2.runtime.Context, value: Money) -> str:
    """``1,234.50 EUR`` in English, ``1.234,50 EUR`` in German, ``1 234,50 EUR`` in French."""
    if not isinstance(value, Money):
        raise InvalidInputError(
            f"outreach template {ctx.name}: money expects a Money, got {type(value).__name__}",
            location=Location(file=ctx.name, field="money"),
        )
    thousands, point = _SEPARATORS.get(_language(ctx), _SEPARATORS[DEFAULT_LANGUAGE])
    digits = f"{value.amount.quantize(Decimal(1).scaleb(-currency_exponent(value.currency))):,}"
    text = digits.replace(",", "\x00").replace(".", point).replace("\x00", thousands)
    return f"{text} {value.currency}"


def _date_filter(ctx: jinja2.runtime.Context, value: date) -> str:
    """``5 March 2026`` in English, ``5. März 2026`` in German."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise InvalidInputError(
            f"outreach template {ctx.name}: date expects a date, got {type(value).__name__}",
            location=Location(file=ctx.name, field="date"),
        )
    lang = _language(ctx)
    months = _MONTHS.get(lang, _MONTHS[DEFAULT_LANGUAGE])
    fmt = _DATE_FORMATS.get(lang, _DATE_FORMATS[DEFAULT_LANGUAGE])
    return fmt.format(d=value.day, month=months[value.month - 1], y=value.year)


__all__ = [
    "DEFAULT_LANGUAGE",
    "PACKAGE_TEMPLATES",
    "OutreachTemplates",
    "default_templates",
    "render",
]
