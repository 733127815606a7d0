"""Ingest as a user meets it: files in, declarations stored, bad records quarantined."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from tamis.ingest import ProfileError, SourceError, ingest, load_profile, quarantined
from tamis.store.summary import store_summary
from tamis.store.tables import declarations, inspection_outcomes, items

HEADER = (
    "declaration_id,lodged_at,office,importer_id,item_number,hs_code,origin_country,"
    "customs_value,invoice_amount,invoice_currency,net_mass_kg,description"
)
GOOD = [
    "D1,2025-03-01 10:00:00,CASA-PORT,IMP1,1,6403990000,CN,1000.50,100.05,USD,12.5,shoes",
    "D1,2025-03-01 10:00:00,CASA-PORT,IMP1,2,640399,CN,2000,200,USD,20,shoes",
    "D2,2025-03-02,TANGER-MED,IMP2,1,8517.13.00.00,CHN,15000,1500,EUR,3,phones",
]
BAD = {
    "D3,2025-03-02,TANGER-MED,IMP3,1,64AB,CN,10,1,USD,1,x": "invalid HS code",
    "D4,2025-03-02,TANGER-MED,IMP4,1,640399,QQ,10,1,USD,1,x": "unknown country code",
    "D5,2025-03-02,TANGER-MED,IMP5,1,640399,CN,-10,1,USD,1,x": "negative value",
    "D6,2025-13-45,TANGER-MED,IMP6,1,640399,CN,10,1,USD,1,x": "unparseable date",
    "D7,2025-03-02,TANGER-MED,IMP7,1,640399,CN,10,1,XYZ,1,x": "unknown currency code",
    "D8,2025-03-02,TANGER-MED,,1,640399,CN,10,1,USD,1,x": "missing required field",
    "D9,2025-03-02,TANGER-MED,IMP9,1,640399,CN,ten,1,USD,1,x": "not a number",
    "D10,2025-03-02,TANGER-MED,IMP10,1,640399,CN,10": "malformed line",
    "D11,2025-03-02,TANGER-MED,IMP11,1,640399,CN,10,1,USD,1,sh\x00oes": "contains a NUL character",
    "D12,2025-03-02,TANGER-MED,IMP12,1,640399,CN,10,1,USD,1e300,x": "implausibly large value",
}


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def test_mixed_file_is_accepted_in_part_and_every_bad_row_is_quarantined(store, tmp_path):
    path = write_csv(tmp_path / "mixed.csv", GOOD + list(BAD))
    summary = ingest(path, "canonical", store)

    assert summary.received == len(GOOD) + len(BAD)
    assert summary.accepted == 3 and summary.rejected == len(BAD)
    assert summary.received == summary.accepted + summary.rejected
    assert summary.rejected_by_reason == {reason: 1 for reason in BAD.values()}
    assert count(store, declarations) == 2 and count(store, items) == 3

    kept = quarantined(store, summary.source_id)
    assert sorted(kept["source_row"].to_list()) == list(range(4, 4 + len(BAD)))
    by_row = {r["source_row"]: r for r in kept.iter_rows(named=True)}
    hs = by_row[4]
    assert (hs["field"], hs["value"], hs["reason"]) == ("hs_code", "64AB", "invalid HS code")
    assert "D3 item 1" in hs["detail"] and "6 to 10 digits" in hs["detail"]
    assert json.loads(hs["record"])["hs_code"] == "64AB"
    assert by_row[5]["field"] == "origin_country"
    assert (
        by_row[11]["reason"] == "malformed line" and "expected 12 columns" in by_row[11]["detail"]
    )


def test_a_quote_left_open_does_not_swallow_the_records_after_it(store, tmp_path):
    lines = [
        GOOD[0],
        'D3,2025-03-02,TANGER-MED,IMP3,1,640399,CN,10,1,USD,1,"shoes, black',
        "D4,2025-03-02,TANGER-MED,IMP4,1,640399,CN,10,1,USD,1,boots",
        "D5,2025-03-02,TANGER-MED,IMP5,1,640399,CN,10,1,USD,1,slippers",
    ]
    summary = ingest(write_csv(tmp_path / "quote.csv", lines), "canonical", store)
    assert summary.rejected_by_reason == {"malformed line": 1}
    assert summary.received == summary.accepted + summary.rejected == 2
    (kept,) = quarantined(store, summary.source_id).iter_rows(named=True)
    assert kept["source_row"] == 2 and "boots" in kept["value"] and "slippers" in kept["value"]
    assert "quote opened in 'description' is not closed" in kept["detail"]


def test_a_quoted_value_may_run_over_lines(store, tmp_path):
    lines = [
        GOOD[0],
        'D5,2025-03-02,TANGER-MED,IMP5,1,640399,CN,10,1,USD,1,"black\nleather, size 42"',
    ]
    summary = ingest(write_csv(tmp_path / "multiline.csv", lines), "canonical", store)
    assert (summary.received, summary.accepted) == (2, 2)


def test_values_are_converted_to_canonical_form_and_money_is_exact(store, tmp_path):
    ingest(write_csv(tmp_path / "good.csv", GOOD), "canonical", store)
    with store.connect() as conn:
        rows = conn.execute(
            select(items.c.hs_code, items.c.origin_country, items.c.customs_value_minor).order_by(
                items.c.declaration_id, items.c.item_number
            )
        ).all()
    # dots dropped from the HS code, alpha-3 CHN read as CN, money in integer hundredths
    assert rows == [
        ("6403990000", "CN", 100050),
        ("640399", "CN", 200000),
        ("8517130000", "CN", 1500000),
    ]


def test_ingesting_twice_adds_nothing(store, tmp_path):
    path = write_csv(tmp_path / "mixed.csv", GOOD + list(BAD))
    first = ingest(path, "canonical", store)
    again = ingest(path, "canonical", store)
    assert (again.inserted, again.already_stored, again.accepted) == (0, 3, 3)
    assert again.rejected == first.rejected
    assert count(store, items) == 3
    assert quarantined(store).height == len(BAD)


def test_one_file_ingested_twice_at_once_is_stored_once(store, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path = write_csv(tmp_path / "mixed.csv", GOOD + list(BAD))
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: ingest(path, "canonical", store), range(2)))
    for run in runs:
        assert run.received == run.accepted + run.rejected
    assert sum(run.inserted for run in runs) == count(store, items) == 3
    assert quarantined(store).height == len(BAD)


def test_a_declaration_with_one_bad_item_is_rejected_whole(store, tmp_path):
    lines = [
        "D1,2025-03-01,CASA-PORT,IMP1,1,640399,CN,10,1,USD,1,a",
        "D1,2025-03-01,CASA-PORT,IMP1,2,640399,QQ,10,1,USD,1,b",
        "D2,2025-03-01,CASA-PORT,IMP2,1,640399,CN,10,1,USD,1,c",
        "D2,2025-03-01,CASA-PORT,IMP2,1,640399,CN,10,1,USD,1,d",
        "D3,2025-03-01,CASA-PORT,IMP3,1,640399,CN,10,1,USD,1,e",
        "D3,2025-03-01,AGADIR,IMP3,2,640399,CN,10,1,USD,1,f",
    ]
    summary = ingest(write_csv(tmp_path / "items.csv", lines), "canonical", store)
    assert (summary.accepted, summary.rejected) == (0, 6)
    assert summary.rejected_by_reason == {
        "unknown country code": 1,
        "rejected with its declaration": 2,
        "duplicate item number": 1,
        "inconsistent header": 2,
    }


def test_items_of_one_declaration_stay_together_across_batches(store, tmp_path):
    lines = [
        f"D{n // 3},2025-03-01,CASA-PORT,IMP1,{n % 3 + 1},640399,CN,10,1,USD,1,x" for n in range(30)
    ]
    summary = ingest(write_csv(tmp_path / "many.csv", lines), "canonical", store, batch_rows=4)
    assert (summary.accepted, summary.rejected) == (30, 0)
    assert count(store, declarations) == 10


def test_a_file_last_declaration_is_in_the_last_batch_not_alone(tmp_path):
    """Capacity shares out each batch's office-days: a declaration alone in a batch would
    get a budget of its own."""
    from tamis.ingest.pipeline import declaration_batches

    lines = [
        f"D{n // 3},2025-03-01,CASA-PORT,IMP1,{n % 3 + 1},640399,CN,10,1,USD,1,x" for n in range(30)
    ]
    path = write_csv(tmp_path / "many.csv", lines)
    profile = load_profile("canonical")
    assert [f.height for f, _ in declaration_batches(path, profile, "csv")] == [30]
    split = [f["declaration_id"].unique().sort().to_list()
             for f, _ in declaration_batches(path, profile, "csv", batch_rows=12)]  # fmt: skip
    assert [len(ids) for ids in split] == [3, 4, 3]  # whole declarations, none left alone
    assert sorted(i for ids in split for i in ids) == sorted(f"D{n}" for n in range(10))


def test_an_interrupted_run_leaves_whole_batches_and_a_rerun_completes_it(store, tmp_path):
    lines = [f"D{n},2025-03-01,CASA-PORT,IMP1,1,640399,CN,10,1,USD,1,x" for n in range(100)]
    path = write_csv(tmp_path / "long.csv", lines)

    def stop_after_two_batches(done: int, _total) -> None:
        if done >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(path, "canonical", store, batch_rows=10, progress=stop_after_two_batches)
    stored = count(store, items)
    assert 0 < stored < 100
    assert count(store, declarations) == stored
    (unfinished,) = store_summary(store)["ingests_not_completed"]  # `tamis status` says so
    assert unfinished.startswith(str(path))

    summary = ingest(path, "canonical", store, batch_rows=10)
    assert (summary.received, summary.accepted, summary.inserted) == (100, 100, 100 - stored)
    assert count(store, items) == 100
    assert store_summary(store)["ingests_not_completed"] == []


def test_a_stored_declaration_deep_in_a_batch_is_still_found(store, tmp_path):
    ingest(write_csv(tmp_path / "a.csv", GOOD[:1]), "canonical", store)
    others = [f"E{n},2025-03-01,CASA-PORT,IMP1,1,640399,CN,10,1,USD,1,x" for n in range(5)]
    resent = [*others, GOOD[0].replace("shoes", "boots")]
    summary = ingest(write_csv(tmp_path / "b.csv", resent), "canonical", store)
    assert (summary.accepted, summary.rejected) == (5, 1)
    assert summary.rejected_by_reason == {"already stored from another source": 1}


@pytest.mark.parametrize("declaration_id", ["DÉCL-ÉTÉ-1", 'D\U0001f600\\"1', "Д-١٢٣"])
def test_a_stored_declaration_id_in_any_script_is_found(store, tmp_path, declaration_id):
    quoted = '"' + declaration_id.replace('"', '""') + '"'
    row = GOOD[0].replace("D1,", quoted + ",", 1)
    ingest(write_csv(tmp_path / "a.csv", [row]), "canonical", store)
    summary = ingest(
        write_csv(tmp_path / "b.csv", [row.replace("shoes", "boots")]), "canonical", store
    )
    assert summary.rejected_by_reason == {"already stored from another source": 1}


def test_same_declaration_from_another_file_is_quarantined_not_merged(store, tmp_path):
    ingest(write_csv(tmp_path / "a.csv", GOOD[:1]), "canonical", store)
    resent = write_csv(tmp_path / "b.csv", [GOOD[0].replace("shoes", "boots")])
    summary = ingest(resent, "canonical", store)
    assert summary.rejected_by_reason == {"already stored from another source": 1}
    assert count(store, items) == 1


def test_csv_parquet_and_jsonl_give_the_same_store(tmp_path):
    from tamis.store import open_store

    frame = pl.read_csv(write_csv(tmp_path / "good.csv", GOOD), infer_schema=False)
    frame.write_parquet(tmp_path / "good.parquet")
    frame.write_ndjson(tmp_path / "good.jsonl")
    stored = []
    for name in ("good.csv", "good.parquet", "good.jsonl"):
        engine = open_store(f"sqlite:///{tmp_path / (name + '.db')}")
        assert ingest(tmp_path / name, "canonical", engine).accepted == 3
        with engine.connect() as conn:
            stored.append(conn.execute(items.select().order_by(items.c.hs_code)).all())
    assert [r[:-2] for r in stored[0]] == [r[:-2] for r in stored[1]] == [r[:-2] for r in stored[2]]


def test_a_national_profile_with_decimal_commas_and_day_first_dates(store, tmp_path):
    profile = tmp_path / "badr.yaml"
    profile.write_text(
        """
name: badr-like
source: {delimiter: ";", encoding: latin-1}
fields:
  declaration_id: NUM_DUM
  lodged_at: {column: DATE_ENR, formats: ["%d/%m/%Y"]}
  office: BUREAU
  importer_id: IFU
  item_number: NUM_ARTICLE
  hs_code: {column: NGP, pad_to: 10}
  origin_country: ORIGINE
  customs_value: {column: VALEUR_DOUANE, decimal: ",", thousands: "."}
  description: DESIGNATION
""",
        encoding="utf-8",
    )
    source = tmp_path / "badr.csv"
    source.write_bytes(
        "NUM_DUM;DATE_ENR;BUREAU;IFU;NUM_ARTICLE;NGP;ORIGINE;VALEUR_DOUANE;DESIGNATION\n"
        "301-2025-1;31/03/2025;301;1234567;1;901110000;BR;1.234,56;café vert\n".encode("latin-1")
    )
    summary = ingest(source, load_profile(profile), store)
    assert (summary.accepted, summary.rejected) == (1, 0)
    with store.connect() as conn:
        row = conn.execute(
            select(items.c.hs_code, items.c.customs_value_minor, items.c.description)
        ).one()
    assert row == ("0901110000", 123456, "café vert")
    assert Decimal(row.customs_value_minor) / 100 == Decimal("1234.56")


def test_profile_and_file_errors_name_what_is_wrong(store, tmp_path):
    with pytest.raises(ProfileError, match="no profile 'nope'.*canonical.*kcs"):
        load_profile("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields:\n  declaration_id: A\n  colour: B\n")
    with pytest.raises(ProfileError, match="unknown canonical fields \\['colour'\\]"):
        load_profile(bad)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(SourceError, match="no column for required field 'declaration_id'"):
        ingest(other, "canonical", store)
    with pytest.raises(SourceError, match="no such file"):
        ingest(tmp_path / "missing.csv", "canonical", store)


def test_gzip_compressed_files_are_read_as_they_are(store, tmp_path):
    text = "\n".join([HEADER, *GOOD]) + "\n"
    named = tmp_path / "items.csv.gz"
    named.write_bytes(gzip.compress(text.encode()))
    assert ingest(named, "canonical", store).accepted == 3
    records = [dict(zip(HEADER.split(","), line.split(","), strict=True)) for line in GOOD]
    jsonl = tmp_path / "items.jsonl.gz"
    lines = (json.dumps(r | {"declaration_id": "J" + r["declaration_id"]}) for r in records)
    jsonl.write_bytes(gzip.compress("".join(f"{line}\n" for line in lines).encode()))
    assert ingest(jsonl, "canonical", store).accepted == 3
    assert count(store, declarations) == 4


@pytest.mark.parametrize("name", ["items.csv.gz", "items.csv", "items.jsonl.gz"])
def test_a_truncated_compressed_file_is_refused_with_its_reason(store, tmp_path, name):
    lines = [f"D{n},2025-03-01,CASA-PORT,IMP1,1,640399,CN,10,1,USD,1,x" for n in range(3000)]
    whole = gzip.compress(("\n".join([HEADER, *lines]) + "\n").encode())
    path = tmp_path / name
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SourceError, match="cannot read"):
        ingest(path, "canonical", store)
    assert count(store, items) == 0


def test_the_kcs_data_set_is_accepted_whole_with_its_outcomes(store, kcs_train):
    first = ingest(kcs_train, "kcs", store)
    assert (first.received, first.accepted, first.rejected) == (37_385, 37_385, 0)
    assert first.outcomes_inserted == 37_385
    again = ingest(kcs_train, "kcs", store)
    assert (again.inserted, again.outcomes_inserted, again.accepted) == (0, 0, 37_385)
    assert count(store, items) == 37_385
    with store.connect() as conn:
        frauds = conn.execute(
            select(func.count()).where(inspection_outcomes.c.result == "non_compliant")
        ).scalar()
    assert frauds == pl.read_csv(kcs_train, columns=["Fraud"])["Fraud"].sum()


def test_rows_of_bytes_foreign_to_the_encoding_are_quarantined_not_the_file(store, tmp_path):
    foreign = "D9,2025-03-02,TANGER-MED,IMP9,1,640399,CN,10,1,USD,1,chaussures \xe9t\xe9"
    path = tmp_path / "latin1-rows.csv"
    good = "\n".join([HEADER, *GOOD]) + "\n"
    path.write_bytes(
        good.encode()
        + foreign.encode("latin-1")
        + b"\n"
        + GOOD[2].replace("D2", "D10").encode()
        + b"\n"
    )
    summary = ingest(path, "canonical", store)
    assert (summary.received, summary.accepted, summary.rejected) == (5, 4, 1)
    kept = quarantined(store).filter(pl.col("source_row") == 4).row(0, named=True)
    assert "'description': bytes that are not utf-8" in kept["detail"]
    assert kept["value"].endswith("chaussures \ufffdt\ufffd")  # marks where the bytes were


def test_a_field_of_megabytes_is_quarantined_and_the_rest_stored(store, tmp_path):
    huge = "D20,2025-03-02,TANGER-MED,IMP20,1,640399,CN,10,1,USD,1," + "x" * 5_000_000
    path = write_csv(tmp_path / "huge.csv", [GOOD[0], huge, GOOD[2]])
    summary = ingest(path, "canonical", store)
    assert (summary.received, summary.accepted, summary.rejected) == (3, 2, 1)
    assert dict(summary.rejected_by_reason) == {"text too long": 1}


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_a_row_without_a_declaration_id_is_quarantined_not_lost(store, tmp_path, suffix):
    nameless = ",2025-03-01 10:00:00,CASA-PORT,IMP1,1,6403990000,CN,10,1,USD,1,shoes"
    path = write_csv(tmp_path / "nameless.csv", [GOOD[0], nameless, GOOD[2]])
    if suffix != ".csv":
        frame = pl.read_csv(path, infer_schema_length=0)
        path = path.with_suffix(suffix)
        frame.write_ndjson(path) if suffix == ".jsonl" else frame.write_parquet(path)
    summary = ingest(path, "canonical", store)
    assert (summary.received, summary.accepted, summary.rejected) == (3, 2, 1)
    assert dict(summary.rejected_by_reason) == {"missing required field": 1}


def test_a_file_refused_whole_still_answers_json(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from tamis.cli import app

    monkeypatch.setenv("TAMIS_DATABASE_URL", f"sqlite:///{tmp_path / 'tamis.db'}")
    broken = tmp_path / "cut.csv.gz"
    broken.write_bytes(gzip.compress(b"declaration_id,office\nD1,CASA\n" * 100)[:40])
    result = CliRunner().invoke(app, ["ingest", str(broken), "--profile", "canonical", "--json"])
    assert result.exit_code == 2
    assert "error" in json.loads(result.stdout)
