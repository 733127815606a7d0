"""What a validator refused, said in the page's language: pydantic words its errors in
English; the catalogue's ``invalid.<type>`` (or ``invalid.<field>.<type>``, for a field that
needs its own words) says them in the reader's, and ``field.<name>`` names the field."""

from __future__ import annotations

from collections.abc import Iterable

from tamis.web.i18n import Translator

# Where FastAPI says a request's value came from: not part of the field's name.
SOURCES = {"body", "query", "path", "header", "cookie", "form"}


def validation_problems(errors: Iterable[dict], t: Translator) -> list[tuple[str, str]]:
    """(field, what is wrong) for each of pydantic's ``errors`` (``error.errors()`` of a
    ValidationError or a RequestValidationError), the field empty when it is the whole
    form's; in the page's language where the catalogue words it, else as the validator did."""
    problems = []
    for e in errors:
        where = [str(p) for p in e.get("loc", ()) if p not in SOURCES]
        field = where[0] if where else ""
        context = {k: str(v) for k, v in (e.get("ctx") or {}).items()}
        for key in (f"invalid.{field}.{e['type']}", f"invalid.{e['type']}"):
            if key in t.messages:
                problems.append((field, t(key, **context)))
                break
        else:
            problems.append((field, e["msg"].removeprefix("Value error, ")))
    return problems


def field_name(field: str, t: Translator) -> str:
    """A field as the page names it (``field.<name>``), else as the request did."""
    key = f"field.{field}"
    return t(key) if key in t.messages else field


def said(errors: Iterable[dict], t: Translator) -> str:
    """Every problem on one line: « Du : une date est attendue (AAAA-MM-JJ) »."""
    return "; ".join(
        t("error.field_problem", field=field_name(field, t), problem=problem) if field else problem
        for field, problem in validation_problems(errors, t)
    )
