"""Rules pages: the current (or any) version, its history, the diff between two versions,
and, for administrators, editing the rule set as YAML (a new version when it changed)."""

from __future__ import annotations

from typing import Annotated

import yaml
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse

from tamis import rulesets
from tamis.api.auth import ADMINS, READERS
from tamis.api.deps import MAX_ID, Store
from tamis.detectors.rules import RuleSet, RuleSetError, parse_rule_set
from tamis.web.i18n import Translator, language_of
from tamis.web.problems import refusal, validation_problems
from tamis.web.render import as_page, check_csrf, render

router = APIRouter(include_in_schema=False)
Reader = as_page(READERS)
Admin = as_page(ADMINS)


def _get(engine, version: int) -> RuleSet:
    try:
        return rulesets.get(engine, version)
    except LookupError as error:
        raise HTTPException(404, str(error)) from None


def refused(error: RuleSetError, t: Translator) -> str:
    """Why a rule set was refused, in the page's language: each problem at its rule and
    place (its YAML keys, as typed)."""
    if error.code != "rules.invalid":
        return refusal(error, t)
    said = []
    for problem in error.values["problems"]:
        rule = problem["rule"]
        where = [] if rule is None else [t("refusal.rules.in_rule", rule=rule)]
        where += [problem["at"]] if problem["at"] else []
        words = validation_problems([problem["error"] | {"loc": ()}], t)[0][1]
        said.append(
            t("error.field_problem", field=" › ".join(where), problem=words) if where else words
        )
    return "; ".join(said)


def as_yaml(rule_set: RuleSet) -> str:
    data = rule_set.model_dump(mode="json", by_alias=True, exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@router.get("/rules")
def rules_page(
    request: Request,
    engine: Store,
    user: Reader,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    saved: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
):
    current = rulesets.ensure_rule_set(engine)
    shown = version or current
    return render(
        request, "rules.html", user, version=shown, current=current, saved=saved,
        rules=_get(engine, shown).rules, history=list(reversed(rulesets.history(engine))),
        admins=ADMINS,
    )  # fmt: skip


@router.get("/rules/diff")
def diff_page(
    request: Request,
    engine: Store,
    user: Reader,
    old: Annotated[int, Query(ge=1, le=MAX_ID)],
    new: Annotated[int, Query(ge=1, le=MAX_ID)],
):
    changes = rulesets.diff(_get(engine, old), _get(engine, new))
    return render(request, "rules_diff.html", user, old=old, new=new, changes=changes)


@router.get("/rules/edit")
def edit_page(request: Request, engine: Store, user: Admin):
    version = rulesets.ensure_rule_set(engine)
    return render(
        request, "rules_edit.html", user, version=version,
        text=as_yaml(rulesets.get(engine, version)), comment="",
    )  # fmt: skip


@router.post("/rules", dependencies=[Depends(check_csrf)])
def save_rules(
    request: Request,
    engine: Store,
    user: Admin,
    text: Annotated[str, Form(max_length=2_000_000)],
    comment: Annotated[str, Form(max_length=500)] = "",
):
    try:
        rule_set = parse_rule_set(text, "the rules")
    except RuleSetError as error:
        return render(
            request, "rules_edit.html", user, status_code=422, text=text, comment=comment,
            error=refused(error, Translator(language_of(request))),
            version=rulesets.current(engine)[0],
        )  # fmt: skip
    before = rulesets.current(engine)[0]
    version = rulesets.apply(engine, rule_set, user.username, comment or None)
    request.app.state.assessor = None  # later decisions use the new version
    return RedirectResponse(
        f"/rules?version={version}&saved={version if version != before else 0}", 303
    )
