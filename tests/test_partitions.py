"""PostgreSQL for years of data: declarations, items and decisions partitioned by month of
lodgement, created by the migration and by ``tamis db partitions``, archived to Parquet by
``tamis db archive``; a store upgraded keeps every row; queries by period read one month."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import event, func, select, text
from typer.testing import CliRunner

from tamis.cli import app as cli
from tamis.listing.declarations import DeclarationFilters, declarations_page
from tamis.store import open_store
from tamis.store.engine import create_store_engine, migrate
from tamis.store.partitions import PARTITIONED, maintain, months, months_ahead, next_month
from tamis.store.tables import decisions, declarations, items
from tests.stores import assessed_store

runner = CliRunner()


def run(url: str, *args: str):
    result = runner.invoke(cli, list(args), env={"TAMIS_DATABASE_URL": url})
    return result


def where_rows_are(conn, table: str) -> dict[str, int]:
    """Rows of ``table`` by the partition holding them."""
    return dict(
        conn.execute(
            text(f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1")
        ).all()
    )


DECISION = (
    "INSERT INTO decisions (declaration_id, decided_at, mode, channel, score, reasons,"
    " signals, random_draw, random_rate, random_selected, capacity_held, routing)"
    " VALUES (:id, :at, 'batch', 'green', 0.1, '[]', '{}', 0.5, 0.01, 0, 0, '{}')"
)


def test_an_upgraded_store_keeps_every_row_each_in_its_month(postgres_url):
    engine = create_store_engine(postgres_url)
    migrate(engine, "0023")
    lodged = {"D-JAN": datetime(2025, 1, 15, 9), "D-MAR": datetime(2025, 3, 31, 23, 59)}
    with engine.begin() as conn:
        for declaration_id, at in lodged.items():
            conn.execute(
                text(
                    "INSERT INTO declarations (declaration_id, lodged_at, office, importer_id)"
                    " VALUES (:id, :at, 'CASA-PORT', 'IMP-1')"
                ),
                {"id": declaration_id, "at": at},
            )
            conn.execute(
                text(
                    "INSERT INTO items (declaration_id, item_number, hs_code, origin_country,"
                    " customs_value_minor) VALUES (:id, 1, '610910', 'CN', 100000)"
                ),
                {"id": declaration_id},
            )
            conn.execute(text(DECISION), {"id": declaration_id, "at": datetime(2026, 6, 1)})
        # a file assessed without being ingested: its decision has no stored declaration
        conn.execute(text(DECISION), {"id": "D-NOT-STORED", "at": datetime(2025, 7, 4, 8)})
    engine.dispose()

    engine = open_store(postgres_url)
    with engine.connect() as conn:
        created = months(conn)
        assert where_rows_are(conn, "declarations") == {
            "declarations_2025_01": 1,
            "declarations_2025_03": 1,
        }
        assert where_rows_are(conn, "items") == {"items_2025_01": 1, "items_2025_03": 1}
        assert where_rows_are(conn, "decisions") == {
            "decisions_2025_01": 1,
            "decisions_2025_03": 1,
            "decisions_2025_07": 1,
        }
        assert dict(conn.execute(select(items.c.declaration_id, items.c.lodged_at)).all()) == lodged
        highest = conn.execute(select(func.max(decisions.c.decision_id))).scalar()
    ahead = months_ahead(date.today(), 3)
    for table in PARTITIONED:
        assert {date(2025, 1, 1), date(2025, 3, 1)} | ahead <= set(created[table])
    # the decision ids' sequence carries on where it was
    with engine.begin() as conn:
        conn.execute(
            text(
                DECISION.replace("routing)", "routing, lodged_at)").replace("'{}')", "'{}', :at)")
            ),
            {"id": "D-JAN", "at": lodged["D-JAN"]},
        )
    with engine.connect() as conn:
        assert conn.execute(select(func.max(decisions.c.decision_id))).scalar() == highest + 1
    engine.dispose()


def test_rows_of_a_month_not_created_wait_in_the_default_partition_until_maintenance(
    postgres_url, tmp_path
):
    engine = open_store(postgres_url)
    assessed_store(engine, tmp_path, declarations=300)  # lodged in 2025: no month created
    with engine.connect() as conn:
        before = {t: conn.execute(select(func.count()).select_from(t)).scalar() for t in TABLES}
        assert where_rows_are(conn, "declarations") == {
            "declarations_default": before[declarations]
        }
        nulls = [t.name for t in (items, decisions) if conn.execute(
            select(func.count()).where(t.c.lodged_at.is_(None))).scalar()]  # fmt: skip
        assert nulls == []

    shown = run(postgres_url, "db", "partitions", "--ahead", "0", "--json")
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.stdout)
    assert report["moved"] == {t.name: before[t] for t in TABLES}
    stored = {m["month"][:7]: m for m in report["months"]}
    assert sum(m["declarations"] for m in stored.values()) == before[declarations]
    with engine.connect() as conn:
        lodged = conn.execute(select(declarations.c.lodged_at)).scalars().all()
        assert set(report["created"]) >= {f"{at:%Y-%m}" for at in lodged}
        for table in TABLES:
            placed = where_rows_are(conn, table.name)
            assert f"{table.name}_default" not in placed
            assert sum(placed.values()) == before[table]
        # a lodgement of a month not created yet is stored all the same, in the default
        late = datetime(2031, 5, 17, 10)
        conn.execute(
            declarations.insert().values(
                declaration_id="LATE-1", lodged_at=late, office="X", importer_id="I"
            )
        )
        assert where_rows_are(conn, "declarations")["declarations_default"] == 1
        conn.commit()
    again = run(postgres_url, "db", "partitions", "--ahead", "0", "--json")
    assert json.loads(again.stdout)["created"] == ["2031-05"]
    engine.dispose()


TABLES = (declarations, items, decisions)


def test_a_month_archived_is_written_whole_to_parquet_then_dropped(postgres_url, tmp_path):
    engine = open_store(postgres_url)
    assessed_store(engine, tmp_path, declarations=300)
    maintain(engine, ahead=0)
    with engine.connect() as conn:
        month = conn.execute(select(func.min(declarations.c.lodged_at))).scalar()
        kept = {
            t.name: pl.DataFrame(
                [dict(r._mapping) for r in conn.execute(
                    select(t).where(t.c.lodged_at < next_month(month)))],
                infer_schema_length=None,
            )
            for t in TABLES
        }  # fmt: skip
        total = {t: conn.execute(select(func.count()).select_from(t)).scalar() for t in TABLES}
    name = f"{month:%Y-%m}"

    archived = run(postgres_url, "db", "archive", name, "--to", str(tmp_path / "old"), "--json")
    assert archived.exit_code == 0, archived.output
    report = json.loads(archived.stdout)["archived"]
    for table in TABLES:
        written = pl.read_parquet(report[table.name]["file"])
        assert report[table.name]["rows"] == written.height == kept[table.name].height > 0
        key = list(PARTITIONED[table.name])
        assert written.sort(key).equals(kept[table.name].select(written.columns).sort(key))
    with engine.connect() as conn:
        for table in TABLES:
            left = conn.execute(select(func.count()).select_from(table)).scalar()
            assert left == total[table] - kept[table.name].height
        assert f"{month:%Y_%m}" not in {m.strftime("%Y_%m") for m in months(conn)["items"]}

    twice = run(postgres_url, "db", "archive", name, "--to", str(tmp_path / "old"), "--json")
    assert twice.exit_code == 2
    assert json.loads(twice.stdout) == {
        "error": f"month {name}: no partition of declarations, items, decisions to archive"
    }
    assert run(postgres_url, "db", "archive", "2025-13", "--to", "x").exit_code == 2
    engine.dispose()


def touched(conn, statement: str, parameters) -> set[str]:
    """The tables a statement read rows of, run under EXPLAIN ANALYZE (a partition pruned
    when the plan was made or as it ran is not among them)."""
    cursor = conn.connection.driver_connection.cursor()
    cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
    found, nodes = set(), [cursor.fetchone()[0][0]["Plan"]]
    while nodes:
        node = nodes.pop()
        if "Relation Name" in node and node.get("Actual Loops", 0) > 0:
            found.add(node["Relation Name"])
        nodes.extend(node.get("Plans", []))
    return found


@pytest.mark.parametrize("sort", ["lodged", "score", "channel"])
def test_a_list_of_a_period_reads_only_that_months_partitions(postgres_url, tmp_path, sort):
    engine = open_store(postgres_url)
    assessed_store(engine, tmp_path, declarations=300)
    maintain(engine, ahead=0)
    with engine.connect() as conn:
        assert len(months(conn)["declarations"]) > 3
    statements = []
    listen = lambda *args: statements.append(args[2:4])  # noqa: E731 - statement, parameters
    filters = DeclarationFilters(lodged_from=date(2025, 2, 3), lodged_to=date(2025, 2, 20))
    declarations_page(engine, filters, sort=sort)  # the scoreboard brought up to date first
    event.listen(engine, "before_cursor_execute", listen)
    page = declarations_page(engine, filters, sort=sort)
    event.remove(engine, "before_cursor_execute", listen)
    assert page.rows and all(r["score"] is not None for r in page.rows)
    read = set()
    with engine.connect() as conn:
        for statement, parameters in statements:
            read |= touched(conn, statement, parameters)
    partitioned = {t for t in read if t.startswith(tuple(PARTITIONED))}
    assert partitioned and partitioned <= {"declarations_2025_02", "decisions_2025_02"}
    engine.dispose()


def test_a_sqlite_store_says_it_has_no_partitions(tmp_path):
    url = f"sqlite:///{tmp_path / 'tamis.db'}"
    engine = open_store(url)
    assessed_store(engine, tmp_path, declarations=50)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).where(items.c.lodged_at.is_(None))).scalar()
    assert stored == 0
    for args in (["db", "partitions"], ["db", "archive", "2025-01", "--to", str(tmp_path)]):
        refused = run(url, *args, "--json")
        assert refused.exit_code == 2
        assert "not partitioned" in json.loads(refused.stdout)["error"]
    engine.dispose()


@pytest.mark.parametrize("ahead", ["-1", "x"])
def test_months_ahead_must_be_a_count(postgres_url, ahead):
    assert run(postgres_url, "db", "partitions", "--ahead", ahead).exit_code == 2


def test_two_maintenances_at_once_create_each_month_once_and_move_each_row_once(
    postgres_url, tmp_path
):
    import threading

    engine = open_store(postgres_url)
    assessed_store(engine, tmp_path, declarations=200)
    with engine.connect() as conn:
        before = {t: conn.execute(select(func.count()).select_from(t)).scalar() for t in TABLES}
    gate, done, failed = threading.Barrier(2), [], []

    def maintenance():
        gate.wait()
        try:
            done.append(maintain(engine, ahead=1))
        except Exception as error:  # noqa: BLE001 - the test reports any failure
            failed.append(error)

    threads = [threading.Thread(target=maintenance) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    assert sorted(len(d.created) for d in done)[0] == 0  # the second found them all made
    assert {t: sum(d.moved[t.name] for d in done) for t in TABLES} == before
    with engine.connect() as conn:
        for table in TABLES:
            assert sum(where_rows_are(conn, table.name).values()) == before[table]
    engine.dispose()


def test_an_archive_that_fails_midway_drops_nothing_and_a_rerun_completes(
    postgres_url, tmp_path, monkeypatch
):
    from tamis.store import partitions

    engine = open_store(postgres_url)
    assessed_store(engine, tmp_path, declarations=200)
    maintain(engine, ahead=0)
    with engine.connect() as conn:
        month = conn.execute(select(func.min(declarations.c.lodged_at))).scalar()
        total = {t: conn.execute(select(func.count()).select_from(t)).scalar() for t in TABLES}
    written = partitions._write_parquet

    def fails_on_decisions(conn, name, path):
        if name.startswith("decisions"):
            raise OSError("disk full")
        return written(conn, name, path)

    monkeypatch.setattr(partitions, "_write_parquet", fails_on_decisions)
    with pytest.raises(OSError):
        partitions.archive(engine, month, tmp_path / "old")
    with engine.connect() as conn:
        assert {t: conn.execute(select(func.count()).select_from(t)).scalar() for t in TABLES} == (
            total
        )
    monkeypatch.setattr(partitions, "_write_parquet", written)
    done = partitions.archive(engine, month, tmp_path / "old")
    assert all(pl.read_parquet(done.files[t]).height == done.rows[t] for t in done.files)
    assert list((tmp_path / "old").rglob("*.partial")) == []
    engine.dispose()


def test_an_office_day_counted_at_lodgement_reads_that_days_month_only(postgres_url, tmp_path):
    from tamis.assess import DAY_SO_FAR, PAST

    engine = open_store(postgres_url)
    assessed_store(engine, tmp_path, declarations=300)
    maintain(engine, ahead=0)
    with engine.connect() as conn:
        office, lodged = conn.execute(
            select(declarations.c.office, declarations.c.lodged_at)
            .where(declarations.c.lodged_at >= datetime(2025, 2, 10))
            .order_by(declarations.c.lodged_at)
            .limit(1)
        ).one()
    start = datetime(lodged.year, lodged.month, lodged.day)
    statements = []
    listen = lambda *args: statements.append(args[2:4])  # noqa: E731 - statement, parameters
    event.listen(engine, "before_cursor_execute", listen)
    with engine.connect() as conn:
        counted = conn.execute(
            DAY_SO_FAR, {"office": office, "start": start, "end": start + timedelta(days=1)}
        ).all()
        conn.execute(PAST, {"office": office, "start": start - timedelta(days=5), "end": start})
    event.remove(engine, "before_cursor_execute", listen)
    assert sum(n for _, n in counted) >= 1
    with engine.connect() as conn:
        day, past = (touched(conn, *s) for s in statements)
    assert {t for t in day if t.startswith(tuple(PARTITIONED))} == {
        f"declarations_{start:%Y_%m}",
        f"decisions_{start:%Y_%m}",
    }
    months_read = {t.rsplit("_", 2)[0] + f"_{start - timedelta(days=5):%Y_%m}" for t in day}
    assert {t for t in past if t.startswith(tuple(PARTITIONED))} <= months_read | day
    engine.dispose()


def test_a_months_items_read_for_training_come_from_that_months_partitions(postgres_url, tmp_path):
    from tamis.store.read import read_items, read_outcomes

    engine = open_store(postgres_url)
    assessed_store(engine, tmp_path, declarations=300)
    maintain(engine, ahead=0)
    start, end = datetime(2025, 2, 1), datetime(2025, 3, 1)
    statements = []
    listen = lambda *args: statements.append(args[2:4])  # noqa: E731 - statement, parameters
    event.listen(engine, "before_cursor_execute", listen)
    month = read_items(engine, start, end)
    read_outcomes(engine, start, end)
    event.remove(engine, "before_cursor_execute", listen)
    with engine.connect() as conn:
        stored = conn.execute(
            select(func.count())
            .select_from(items.join(declarations))
            .where(declarations.c.lodged_at >= start, declarations.c.lodged_at < end)
        ).scalar()
        read = set().union(*(touched(conn, *s) for s in statements))
    assert month.height == stored > 0
    assert {t for t in read if t.startswith(tuple(PARTITIONED))} == {
        "declarations_2025_02",
        "items_2025_02",
    }
    engine.dispose()
