"""Exact identifiers link records before the model: a customs id, a tax number, a phone
that only one company holds — never two customs ids, and never against an analyst."""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import select

from tamis.intel.ingest import ingest_source
from tamis.intel.resolve import (
    DECISION_SCHEMA,
    PARTY_COLUMNS,
    clusters,
    decide,
    e164,
    entity_ids,
    entity_records_of,
    exact_links,
    links,
    party_records,
    read_decisions,
    read_entities,
    resolve,
)
from tamis.intel.tables import entity_links
from tests.intel_store import loaded_store

col = pl.col
NO_PAIRS = pl.DataFrame(schema={"record_key_l": pl.String, "record_key_r": pl.String,
                                "match_probability": pl.Float64})  # fmt: skip


def tax_return(tax_number: str, name: str, address: str, phone: str, quarter: int = 1) -> dict:
    return {"tax_number": tax_number, "period_start": date(2031, 3 * quarter - 2, 1),
            "company_name": name, "company_address": address, "phone": phone,
            "import_purchases": "1000.00", "turnover": "1500.00"}  # fmt: skip


def add_tax_returns(engine, folder, rows: list[dict]) -> list[str]:
    """Store more tax returns; their record keys, in order."""
    frame = pl.DataFrame(rows)
    path = folder / f"more{len(list(folder.glob('more*')))}.tax_returns.parquet"
    frame.write_parquet(path)
    ingest_source(path, "tax_returns", engine)
    return party_records("tax_returns", frame)["record_key"].to_list()


def entity_of(engine, record_key: str) -> str:
    return read_entities(engine).filter(col("record_key") == record_key)["entity_id"][0]


def resolved_company(engine, folder) -> dict:
    """A synthetic year stored and resolved; a tax return whose record resolved to the
    customs id of the declarations' importer it names."""
    url = engine.url.render_as_string(hide_password=False)
    _, year = loaded_store(url, folder, 300, 6)
    resolve(engine)
    matched = read_entities(engine).filter(
        (col("source") == "tax_returns") & col("entity_id").str.starts_with("IMP")
    )
    record = matched.sort("record_key").row(0, named=True)
    row = year.tax_returns.filter(col("tax_number") == record["tax_number"]).row(0, named=True)
    return row | {"record_key": record["record_key"], "entity_id": record["entity_id"]}


def misspelt_return(engine, folder, company: dict) -> str:
    """A return under the company's tax number, its name and address spelt nothing alike."""
    (key,) = add_tax_returns(engine, folder, [
        tax_return(company["tax_number"], "STE QWZ HOLDING NORD", "KM 12 ROUTE DE FES, OUJDA",
                   "0537112233", quarter=2)
    ])  # fmt: skip
    return key


def test_a_tax_number_puts_a_misspelt_return_in_the_importers_entity(store, tmp_path):
    company = resolved_company(store, tmp_path)
    key = misspelt_return(store, tmp_path, company)
    summary = resolve(store)
    importer = company["entity_id"]
    assert entity_of(store, key) == entity_of(store, company["record_key"]) == importer
    listed = entity_records_of(store, importer)
    assert "STE QWZ HOLDING NORD" in listed["name"].to_list()
    assert "declarations" in listed["source"].to_list()
    with store.connect() as conn:
        hows = dict(
            ((r.record_key_l, r.record_key_r), r.how) for r in conn.execute(select(entity_links))
        )
    pair = tuple(sorted((key, company["record_key"])))
    assert hows[pair] == "exact:tax_number"
    assert summary.linked_exactly == sum(h.startswith("exact:") for h in hows.values()) >= 1


def test_a_phone_shared_by_two_tax_numbers_links_nothing(store, tmp_path):
    resolved_company(store, tmp_path)
    phones = ("0522334455", "+212 5 22-33-44-55")
    assert e164(phones[0]) == e164(phones[1]) == "+212522334455"
    first, second = add_tax_returns(store, tmp_path, [
        tax_return("IF99000001", "BAKKALI FRERES IMPORT", "3 RUE IBN BATOUTA, TANGER", phones[0]),
        tax_return("IF99000002", "ZENITH OPTIQUE MAROC", "77 AV HASSAN II, AGADIR", phones[1]),
    ])  # fmt: skip
    summary = resolve(store)
    assert entity_of(store, first) != entity_of(store, second)
    with store.connect() as conn:
        linked = {(r.record_key_l, r.record_key_r) for r in conn.execute(select(entity_links))}
    assert tuple(sorted((first, second))) not in linked
    assert summary.records == read_entities(store).height


def test_an_analysts_split_wins_over_a_shared_tax_number(store, tmp_path):
    company = resolved_company(store, tmp_path)
    key = misspelt_return(store, tmp_path, company)
    resolve(store)
    decide(store, company["record_key"], key, "split", "amina", "the number was mistyped")
    for _ in range(2):  # the decision holds on every later run
        summary = resolve(store)
        assert summary.split == 1 and read_decisions(store).height == 1
        assert entity_of(store, company["record_key"]) == company["entity_id"]
        assert entity_of(store, key) != company["entity_id"]


def record(key: str, source: str, **fields) -> dict:
    return {"record_key": key, "source": source} | {c: fields.get(c) for c in PARTY_COLUMNS}


def entities(records: list[dict]) -> dict[str, str]:
    """record_key -> entity_id when only exact identifiers link records."""
    frame = pl.DataFrame(records, schema={"record_key": pl.String, "source": pl.String}
                         | dict.fromkeys(PARTY_COLUMNS, pl.String))  # fmt: skip
    no_decisions = pl.DataFrame(schema=DECISION_SCHEMA)
    linked, split = links(NO_PAIRS, no_decisions, exact=exact_links(frame))
    resolved = entity_ids(frame, clusters(frame, linked, split))
    return dict(resolved.select("record_key", "entity_id").iter_rows())


def test_a_phone_held_by_one_company_links_it_whatever_its_written_form():
    frame = party_records("tax_returns", pl.DataFrame([
        {"tax_number": "IF1", "company_name": "ATLAS TEXTILE SARL",
         "company_address": "12 RUE X, CASABLANCA", "phone": "0522334455"},
        {"tax_number": None, "company_name": "ATLAS TEX",
         "company_address": None, "phone": "+212 5 22 33 44 55"},
    ]))  # fmt: skip
    a, b = frame["record_key"].to_list()
    found = exact_links(frame)
    assert found.select("record_key_l", "record_key_r", "how").rows() == [
        (*sorted((a, b)), "exact:phone")
    ]
    importer = record("dec:1", "declarations", customs_id="IMP1", tax_number="IF1")
    resolved = entities([*frame.to_dicts(), importer])
    assert resolved[a] == resolved[b] == "IMP1"


def test_no_exact_identifier_joins_two_customs_ids():
    resolved = entities([
        # two companies declaring one tax number and one phone
        record("a", "payments", customs_id="IMP1", tax_number="IF7", phone="0522334455"),
        record("b", "payments", customs_id="IMP2", tax_number="IF7", phone="0522334455"),
        # nor through a record without a customs id: IMP1 and IF8, IF8 and a phone, the phone
        # and IMP2
        record("c", "offences", customs_id="IMP1", tax_number="IF8"),
        record("d", "tax_returns", tax_number="IF8", phone="0661234567"),
        record("e", "offences", customs_id="IMP2", phone="+212 661-23-45-67"),
    ])  # fmt: skip
    assert resolved["a"] == resolved["c"] == resolved["d"] == "IMP1"
    assert resolved["b"] == resolved["e"] == "IMP2"
