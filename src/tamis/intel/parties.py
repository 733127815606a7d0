"""Standard forms of company names and addresses, as every source spells them differently.

Standardising is not matching: it only removes what carries no identity (case,
punctuation, legal forms, "STE", usual abbreviations of French business words and street
types) so that entity resolution and exact lookups compare like with like.
"""

from __future__ import annotations

import polars as pl

# Usual long forms -> the short form kept.
NAME_WORDS = {
    "INTERNATIONAL": "INTL",
    "DISTRIBUTION": "DISTRIB",
    "COMMERCE": "CIAL",
    "COMMERCIALE": "CIAL",
    "INDUSTRIES": "IND",
    "INDUSTRIE": "IND",
    "EQUIPEMENT": "EQUIP",
    "EQUIPEMENTS": "EQUIP",
    "FOURNITURES": "FOURN",
    "SERVICES": "SCES",
    "APPROVISIONNEMENT": "APPRO",
    "IMPORT": "IMP",
    "EXPORT": "EXP",
    "SOCIETE": "",
    "STE": "",
    "SARL": "",
    "AU": "",
    "SA": "",
    "SAS": "",
}
ADDRESS_WORDS = {
    "BOULEVARD": "BD",
    "AVENUE": "AV",
    "QU": "QUARTIER",
    "N": "",
    "NO": "",
    "NUMERO": "",
}


def _standard(text: pl.Expr, words: dict[str, str]) -> pl.Expr:
    tokens = (
        text.str.to_uppercase()
        .str.replace_all(r"[^A-Z0-9]+", " ")
        .str.strip_chars()
        .str.split(" ")
        .list.eval(pl.element().replace(words))
        .list.eval(pl.element().filter(pl.element() != ""))
    )
    joined = tokens.list.join(" ")
    return pl.when(joined != "").then(joined)


def name_key(text: pl.Expr) -> pl.Expr:
    """A company name without case, punctuation, legal form or long business words."""
    return _standard(text, NAME_WORDS)


def address_key(text: pl.Expr) -> pl.Expr:
    """An address without case, punctuation, "N°" or long street types."""
    return _standard(text, ADDRESS_WORDS)
