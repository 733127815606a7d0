"""What a validator or a domain refused, said in the page's language: pydantic words its
errors in English; the catalogue's ``invalid.<type>`` (or ``invalid.<field>.<type>``, for a
field that needs its own words) says them in the reader's, and ``field.<name>`` names the
field. A refusal with a code (``tamis.refusals``) is said by ``refusal.<code>``, its figures
written the page's way."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from tamis.cases.cases import Status as CaseStatus
from tamis.offences.read import Status as OffenceStatus
from tamis.web.i18n import Translator

# Where FastAPI says a request's value came from: not part of the field's name.
SOURCES = {"body", "query", "path", "header", "cookie", "form"}
# The words of a refusal's figure that is a term: by its kind (an enumeration), or for a
# plain text by the figure's name; a term the catalogue lacks is said as it is.
TERMS = {CaseStatus: "status.", OffenceStatus: "offence.status."}
TERMS_NAMED = {"doc_type": "documents.type.", "doc_types": "documents.type.",
               "verdict": "documents.verdict."}  # fmt: skip


def validation_problems(errors: Iterable[dict], t: Translator) -> list[tuple[str, str]]:
    """(field, what is wrong) for each of pydantic's ``errors`` (``error.errors()`` of a
    ValidationError or a RequestValidationError), the field empty when it is the whole
    form's; in the page's language where the catalogue words it, else as the validator did."""
    problems = []
    for e in errors:
        where = [str(p) for p in e.get("loc", ()) if p not in SOURCES]
        field = where[0] if where else ""
        context = {k: str(v) for k, v in (e.get("ctx") or {}).items()}
        refused = (e.get("ctx") or {}).get("error")
        if _worded(refused, t):  # a validator's coded refusal
            problems.append((refused.field or field, refusal_words(refused, t)))
            continue
        for key in (f"invalid.{field}.{e['type']}", f"invalid.{e['type']}"):
            if key in t.messages:
                problems.append((field, t(key, **context)))
                break
        else:
            problems.append((field, e["msg"].removeprefix("Value error, ")))
    return problems


def field_name(field: str, t: Translator, fields: str = "field.") -> str:
    """A field as the page names it (``field.<name>``, or under ``fields``), else as the
    request did."""
    for key in (f"{fields}{field}", f"field.{field}"):
        if key in t.messages:
            return t(key)
    return field


def said(errors: Iterable[dict], t: Translator) -> str:
    """Every problem on one line: « Du : une date est attendue (AAAA-MM-JJ) »."""
    return "; ".join(
        t("error.field_problem", field=field_name(field, t), problem=problem) if field else problem
        for field, problem in validation_problems(errors, t)
    )


def _worded(error: object, t: Translator) -> bool:
    code = getattr(error, "code", None)
    return code is not None and f"refusal.{code}" in t.messages


def refusal_words(error: Exception, t: Translator) -> str:
    """What a refusal says, in the page's language where the catalogue has its code, else
    its English words."""
    if not _worded(error, t):
        return str(error)
    try:
        return t(f"refusal.{error.code}", **{k: written(k, v, t) for k, v in error.values.items()})
    except KeyError:  # a wording that names a figure the refusal lacks: its own words then
        return str(error)


def refusal(error: Exception, t: Translator, fields: str = "field.") -> str:
    """A refusal on one line, its field named (``fields``: where the page's names of its
    fields are): « Montant : 5 est hors des bornes… »."""
    words = refusal_words(error, t)
    field = getattr(error, "field", None) if _worded(error, t) else None
    if not field:
        return words
    return t("error.field_problem", field=field_name(field, t, fields), problem=words)


def written(name: str, value: object, t: Translator) -> str:
    """A refusal's figure the page's way: amounts 1 234,56, days 07/12/2026, terms in words."""
    if isinstance(value, list | tuple):
        return ", ".join(written(name, v, t) for v in value)
    if isinstance(value, Decimal):
        return t.number(float(value), 0 if value == value.to_integral_value() else 2)
    if isinstance(value, float):
        return t.number(value, 2)
    if isinstance(value, datetime):
        return t.datetime(value)
    if isinstance(value, date):
        return t.date(value)
    prefix = TERMS.get(type(value)) if isinstance(value, Enum) else TERMS_NAMED.get(name)
    said = str(value.value if isinstance(value, Enum) else value)
    key = f"{prefix}{said}"
    return t(key) if prefix and key in t.messages else said
