"""Entity resolution: which records of all sources are the same company.

Each source names parties its own way (a declaration's importer, a bill's consignee, a
payment's payer, a tax return's company, a register's distributor). Every distinct party
record is standardised (``tamis.intel.parties``) and linked by Splink, a Fellegi-Sunter
probabilistic record-linkage model run on DuckDB, or on Spark with the same model and the
same links: u probabilities from random pairs, m by expectation maximisation, no labels
needed. Before the model, exact identifiers link records outright: a customs id, a tax
number, a phone (in E.164) that only one company holds — never records of two customs ids.
Pairs at or above ``threshold`` are linked too, analysts' decisions are applied on top (a
confirmed pair is linked, a split pair is cut apart, whatever the identifiers or the model
say), and connected records form one entity. An entity that holds a customs identifier
takes it as its id.

Records are keyed by a hash of their source and fields, so a decision about a pair of
records sticks across runs as long as those records exist.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import networkx as nx
import polars as pl
from sqlalchemy import Engine, delete, select

from tamis import audit
from tamis.intel.parties import address_key, name_key
from tamis.intel.tables import entity_decisions, entity_links, entity_records
from tamis.offences.tables import offence_parties
from tamis.social.contacts import phones
from tamis.store.load import bulk_insert

col = pl.col
PARTY_COLUMNS = ("customs_id", "name", "address", "phone", "account", "tax_number")
# source -> canonical party column -> the source's field
PARTIES: dict[str, dict[str, str]] = {
    "declarations": {"customs_id": "importer_id", "name": "importer_name",
                     "address": "importer_address"},
    "manifests": {"name": "consignee_name", "address": "consignee_address"},
    "payments": {"customs_id": "payer_id", "name": "payer_name", "account": "payer_account"},
    "tax_returns": {"name": "company_name", "address": "company_address", "phone": "phone",
                    "tax_number": "tax_number"},
    "trademarks": {"customs_id": "distributor_id", "name": "distributor_name"},
    "offences": {"customs_id": "customs_id", "name": "name", "address": "address"},
}  # fmt: skip
THRESHOLD = 0.5
U_SAMPLE = 1415  # records whose ~1e6 pairs give the u probabilities
# identifiers that name one company, strongest first: a weaker one never links records
# that carry two different values of a stronger one
EXACT = ("customs_id", "tax_number", "phone")
LINK_SCHEMA = {
    "record_key_l": pl.String,
    "record_key_r": pl.String,
    "match_probability": pl.Float64,
    "how": pl.String,
}
DECISIONS = ("confirm", "split")
DECISION_SCHEMA = {
    "decision_id": pl.Int64,
    "record_key_l": pl.String,
    "record_key_r": pl.String,
    "decision": pl.String,
    "analyst": pl.String,
    "reason": pl.String,
    "decided_at": pl.Datetime("us"),
}


def party_records(source: str, frame: pl.DataFrame) -> pl.DataFrame:
    """One row per row of ``frame``: its party as a record (record_key, source, party
    columns as spelt) — the same record for rows that spell the party the same way."""
    fields = PARTIES[source]
    parties = frame.select(
        (col(fields[c]).cast(pl.String) if c in fields else pl.lit(None, pl.String)).alias(c)
        for c in PARTY_COLUMNS
    )
    key = pl.concat_str(
        [pl.lit(source), *(col(c).fill_null("") for c in PARTY_COLUMNS)], separator="\x1f"
    )
    hashed = [hashlib.sha1(k.encode()).hexdigest()[:24] for k in parties.select(key).to_series()]
    return parties.with_columns(
        pl.Series("record_key", [f"{source[:3]}:{h}" for h in hashed], pl.String),
        pl.lit(source).alias("source"),
    ).select("record_key", "source", *PARTY_COLUMNS)


def _standardised(records: pl.DataFrame) -> pl.DataFrame:
    """What Splink compares: standard forms, the city and street number apart."""
    address = address_key(col("address"))
    return records.select(
        col("record_key").alias("unique_id"),
        "source",
        "customs_id",
        name_key(col("name")).alias("name"),
        address.alias("address"),
        address.str.extract(r"^(\d+)").alias("street_number"),
        address.str.extract(r"([A-Z]+)$").alias("city"),
        "phone",
        "account",
        "tax_number",
    )


# what Spark takes for a master URL (spark-submit refuses anything else with a stack trace)
SPARK_MASTER = re.compile(
    r"local(\[(\d+|\*)(,\d+)?\])?|local-cluster\[.+\]|yarn|(spark|k8s|mesos)://.+"
)


class SparkMasterError(Exception):
    """Spark could not start on the master URL given."""


def spark_session(master: str):
    """The process's Spark session on ``master`` (a master URL: local[2], spark://host:7077),
    a session on another master stopped, with DuckDB's Jaro-Winkler similarity under the
    name Splink's Spark SQL calls."""
    import os
    import sys

    from pyspark.sql import SparkSession
    from pyspark.sql.types import DoubleType

    if not SPARK_MASTER.fullmatch(master):
        raise SparkMasterError(
            f"Spark master {master!r}: expected local, local[N], local[*], spark://HOST:PORT, "
            "yarn, k8s://... or mesos://..."
        )
    active = SparkSession.getActiveSession()
    if active is not None and active.sparkContext.master != master:
        active.stop()
    # Python workers run this interpreter (it has rapidfuzz), unless the user chose one
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("tamis-resolve")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.log.level", "ERROR")
    )
    if master.startswith("local"):  # Spark's 200 partitions of a shuffle are for a cluster
        builder = builder.config("spark.sql.shuffle.partitions", "4")
        builder = builder.config("spark.ui.enabled", "false")
    try:
        session = builder.getOrCreate()
    except Exception as error:  # noqa: BLE001 - the JVM's error, without its stack trace
        said = getattr(error, "java_exception", error)
        said = said.getMessage() if hasattr(said, "getMessage") else str(said)
        raise SparkMasterError(f"Spark master {master!r}: {said.splitlines()[0]}") from None
    if session.sparkContext._jsc.sc().isStopped():  # a cluster's master that never answered
        raise SparkMasterError(f"Spark master {master!r}: no answer, Spark gave up")

    def jaro_winkler(a: str | None, b: str | None) -> float | None:
        # DuckDB's jaro_winkler_similarity is rapidfuzz's, but 0.0 for two empty strings
        from rapidfuzz.distance import JaroWinkler

        if a is None or b is None:
            return None
        return JaroWinkler.similarity(a, b) if a or b else 0.0

    session.udf.register("jaro_winkler", jaro_winkler, DoubleType())
    return session


def _database(spark: str | None):
    """Splink's database: DuckDB in process, or Spark on the master URL ``spark``."""
    from splink import DuckDBAPI

    if spark is None:
        return DuckDBAPI()
    from splink import SparkAPI

    return SparkAPI(
        spark_session=spark_session(spark),
        break_lineage_method="persist",
        register_udfs_automatically=False,
    )


def _settings():
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.ExactMatch("customs_id"),
            cl.JaroWinklerAtThresholds("name", [0.95, 0.88]),
            cl.JaroWinklerAtThresholds("address", [0.95, 0.88]),
            cl.ExactMatch("account"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("customs_id"),
            block_on("name"),
            block_on("address"),
            block_on("account"),
            block_on("street_number", "city"),
            block_on("substr(name, 1, 5)", "city"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def _linker(frame: pl.DataFrame, db, settings):
    from splink import DuckDBAPI, Linker

    if isinstance(db, DuckDBAPI):
        table = frame.to_arrow()
    else:
        table = db.spark.createDataFrame(
            frame.rows(), ", ".join(f"{c} string" for c in frame.columns)
        )
    return Linker(db.register(table), settings, log_level=logging.ERROR)


def _trained(frame: pl.DataFrame, db):
    """A linker of ``frame``, trained: u from every pair of a sample of records; the prior
    chance of a match from records sharing a customs id or a standard name and address
    (assumed to be half of all matches); m by EM within blocks of one name and of one
    address. The sample is picked by the records' keys (hashes), and all its pairs counted,
    because Splink's own sampling and early stop use each database's hash function: DuckDB
    and Spark would count different pairs."""
    from splink import block_on

    sample = frame.sort(col("unique_id").str.slice(4)).head(U_SAMPLE)
    sampled = _linker(sample, db, _settings())
    sampled.training.estimate_u_using_random_sampling(
        max_pairs=sample.height**2, min_count_per_level=None, num_chunks=1
    )
    linker = _linker(frame, db, sampled.misc.save_model_to_json())
    linker.training.estimate_probability_two_random_records_match(
        [block_on("customs_id"), block_on("name", "address")], recall=0.5
    )
    for rule in (block_on("name"), block_on("address")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, record_sample_proportion=1.0
        )
    return linker


def scored_pairs(records: pl.DataFrame, spark: str | None = None) -> pl.DataFrame:
    """record_key_l, record_key_r, match_probability for every blocked pair (Splink, on
    DuckDB or on the Spark master ``spark``)."""
    frame = _standardised(records.unique("record_key"))
    linker = _trained(frame, _database(spark))
    pairs = pl.from_arrow(
        linker.inference.predict(
            threshold_match_probability=0.01, warning_mode="never"
        ).as_pyarrow_table()
    )
    return pairs.select(
        col("unique_id_l").alias("record_key_l"),
        col("unique_id_r").alias("record_key_r"),
        col("match_probability").cast(pl.Float64),
    )


def e164(phone: str | None) -> str | None:
    """A party's phone in E.164 ("0522334455" -> "+212522334455"), None if not a phone."""
    found = phones(phone) if phone else []
    return found[0].e164 if found else None


def exact_groups(records: pl.DataFrame) -> pl.DataFrame:
    """kind, value, record_key (a sorted list): the records sharing each exact identifier,
    strongest kind first, phones compared in E.164."""
    written = records["phone"].drop_nulls().unique().to_list()
    frame = records.unique("record_key").with_columns(
        col("phone").replace_strict(
            {p: e164(p) for p in written}, default=None, return_dtype=pl.String
        )
    )
    return pl.concat(
        frame.drop_nulls(kind)
        .group_by(value=kind)
        .agg(col("record_key").sort())
        .filter(col("record_key").list.len() > 1)
        .sort("value")
        .select(pl.lit(kind).alias("kind"), "value", "record_key")
        for kind in EXACT
    )


class _Companies:
    """Records joined into companies, each company knowing the customs ids and tax
    numbers its records carry."""

    def __init__(self, records: pl.DataFrame):
        self.parent: dict[str, str] = {}
        self.carries: dict[str, dict[str, set[str]]] = {}
        for row in records.select("record_key", *EXACT[:-1]).iter_rows(named=True):
            self.parent[row["record_key"]] = row["record_key"]
            self.carries[row["record_key"]] = {k: {row[k]} - {None} for k in EXACT[:-1]}

    def root(self, key: str) -> str:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, keys: list[str], kind: str) -> bool:
        """Join the companies of ``keys`` unless the joined company would carry two values
        of an identifier stronger than ``kind``; whether they were joined."""
        roots = {self.root(k) for k in keys}
        carried = {k: set().union(*(self.carries[r][k] for r in roots)) for k in EXACT[:-1]}
        if any(len(carried[k]) > 1 for k in EXACT[: EXACT.index(kind)]):
            return False
        first = self.root(keys[0])
        for r in roots:
            self.parent[r] = first
        self.carries[first] = carried
        return True


def exact_links(records: pl.DataFrame) -> pl.DataFrame:
    """record_key_l, record_key_r, match_probability (1.0), how ("exact:<identifier>"):
    the records sharing a customs id, a tax number or a phone, each linked to the first
    record of its group. A group links nothing if it would make one company of two customs
    ids, or, for a phone, of two tax numbers (a broker's or a ring's shared phone)."""
    companies = _Companies(records.unique("record_key"))
    pairs = [
        (keys[0], key, 1.0, f"exact:{kind}")
        for kind, keys in exact_groups(records).select("kind", "record_key").iter_rows()
        if companies.join(keys, kind)
        for key in keys[1:]
    ]
    return pl.DataFrame(pairs, schema=LINK_SCHEMA, orient="row").unique(
        ["record_key_l", "record_key_r"], keep="first", maintain_order=True
    )


def _ordered(left: pl.Expr, right: pl.Expr) -> list[pl.Expr]:
    return [
        pl.min_horizontal(left, right).alias("record_key_l"),
        pl.max_horizontal(left, right).alias("record_key_r"),
    ]


def links(
    pairs: pl.DataFrame,
    decisions: pl.DataFrame,
    threshold: float = THRESHOLD,
    exact: pl.DataFrame | None = None,
):
    """The pairs that link records: analysts' decisions first (the latest decision about a
    pair wins), then the ``exact`` identifiers' links, then the model's pairs at or above
    ``threshold``; and the pairs analysts split."""
    decided = (
        decisions.sort("decided_at")
        .select(*_ordered(col("record_key_l"), col("record_key_r")), "decision")
        .unique(["record_key_l", "record_key_r"], keep="last")
    )
    model = pairs.filter(col("match_probability") >= threshold).select(
        "record_key_l", "record_key_r", "match_probability", pl.lit("splink").alias("how")
    )
    found = (
        pl.concat([exact if exact is not None else pl.DataFrame(schema=LINK_SCHEMA), model])
        .select(*_ordered(col("record_key_l"), col("record_key_r")), "match_probability", "how")
        .unique(["record_key_l", "record_key_r"], keep="first", maintain_order=True)
        .join(decided, on=["record_key_l", "record_key_r"], how="anti")
    )
    confirmed = decided.filter(col("decision") == "confirm").select(
        "record_key_l",
        "record_key_r",
        pl.lit(1.0).alias("match_probability"),
        pl.lit("confirmed").alias("how"),
    )
    return pl.concat([found, confirmed]), decided.filter(col("decision") == "split")


def clusters(records: pl.DataFrame, linked: pl.DataFrame, split: pl.DataFrame) -> dict[str, int]:
    """record_key -> cluster number: connected records, each split pair cut apart along the
    weakest links between them (a minimum cut weighted by match probability)."""
    graph = nx.Graph()
    graph.add_nodes_from(records["record_key"].to_list())
    graph.add_weighted_edges_from(
        linked.select("record_key_l", "record_key_r", "match_probability").iter_rows()
    )
    for a, b in split.select("record_key_l", "record_key_r").iter_rows():
        if a in graph and b in graph and nx.has_path(graph, a, b):
            _, (side_a, _) = nx.minimum_cut(graph, a, b, capacity="weight")
            graph.remove_edges_from(
                [(u, v) for u, v in list(graph.edges(side_a)) if v not in side_a]
            )
    return {key: k for k, members in enumerate(nx.connected_components(graph)) for key in members}


def entity_ids(records: pl.DataFrame, cluster: dict[str, int]) -> pl.DataFrame:
    """record_key -> entity_id: the cluster's most frequent customs id (a customs id claimed
    by several clusters goes to the one holding most of its records), else a hash."""
    frame = records.with_columns(
        col("record_key").replace_strict(cluster, return_dtype=pl.Int64).alias("_cluster")
    )
    named = (
        frame.drop_nulls("customs_id")
        .group_by("_cluster", "customs_id")
        .len()
        .sort("len", "customs_id", "_cluster", descending=[True, False, False])
        .unique("_cluster", keep="first", maintain_order=True)
        .unique("customs_id", keep="first", maintain_order=True)
        .select("_cluster", col("customs_id").alias("_id"))
    )
    anonymous = frame.group_by("_cluster").agg(col("record_key").min().alias("_first"))
    anonymous = anonymous.with_columns(
        pl.Series(
            "_hash",
            [f"ENT-{hashlib.sha1(k.encode()).hexdigest()[:10]}" for k in anonymous["_first"]],
            pl.String,
        )
    )
    return (
        frame.join(named, on="_cluster", how="left")
        .join(anonymous, on="_cluster")
        .with_columns(pl.coalesce("_id", "_hash").alias("entity_id"))
        .drop("_cluster", "_id", "_first", "_hash")
    )


@dataclass
class Resolution:
    records: int
    entities: int
    pairs_scored: int
    linked_exactly: int
    linked_by_model: int
    confirmed: int
    split: int
    seconds: float

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def read_party_frames(engine: Engine) -> dict[str, pl.DataFrame]:
    """Every stored source with parties, as read for resolution."""
    from tamis.intel.ingest import read_source
    from tamis.store.read import read_items

    frames = {"declarations": read_items(engine).unique("declaration_id")}
    for source in PARTIES:
        if source not in ("declarations", "offences"):
            frames[source] = read_source(engine, source)
    with engine.connect() as conn:
        frames["offences"] = pl.read_database(
            select(offence_parties), conn, schema_overrides={"customs_id": pl.String}
        )
    return frames


def all_records(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    parts = [party_records(source, frame) for source, frame in frames.items() if frame.height]
    return pl.concat(parts).unique("record_key", maintain_order=True)


def read_decisions(engine: Engine) -> pl.DataFrame:
    with engine.connect() as conn:
        frame = pl.read_database(select(entity_decisions), conn)
    return frame.cast(DECISION_SCHEMA) if frame.height else pl.DataFrame(schema=DECISION_SCHEMA)


def resolve(engine: Engine, threshold: float = THRESHOLD, spark: str | None = None) -> Resolution:
    """Resolve every party record of the store and replace the stored entities; Splink
    runs on DuckDB, or on Spark at the master URL ``spark`` (the same model, the same
    links)."""
    started = time.perf_counter()
    if spark is not None:
        spark_session(spark)  # a bad master URL fails before the store is read
    records = all_records(read_party_frames(engine))
    pairs = scored_pairs(records, spark)
    linked, split = links(pairs, read_decisions(engine), threshold, exact_links(records))
    resolved = entity_ids(records, clusters(records, linked, split))
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(delete(entity_records))
        conn.execute(delete(entity_links))
        bulk_insert(
            conn, entity_records.name, resolved.with_columns(pl.lit(now).alias("resolved_at"))
        )
        bulk_insert(
            conn,
            entity_links.name,
            linked.select("record_key_l", "record_key_r", "match_probability", "how"),
        )
    return Resolution(
        records=records.height,
        entities=resolved["entity_id"].n_unique(),
        pairs_scored=pairs.height,
        linked_exactly=linked.filter(col("how").str.starts_with("exact:")).height,
        linked_by_model=linked.filter(col("how") == "splink").height,
        confirmed=linked.filter(col("how") == "confirmed").height,
        split=split.height,
        seconds=round(time.perf_counter() - started, 2),
    )


def decide(
    engine: Engine,
    record_key_l: str,
    record_key_r: str,
    decision: str,
    analyst: str,
    reason: str | None = None,
) -> None:
    """Record an analyst's decision on a pair of records; the next ``resolve`` applies it."""
    if decision not in DECISIONS:
        raise ValueError(f"decision {decision!r}: expected one of {', '.join(DECISIONS)}")
    with engine.begin() as conn:
        known = set(
            conn.execute(
                select(entity_records.c.record_key).where(
                    entity_records.c.record_key.in_([record_key_l, record_key_r])
                )
            ).scalars()
        )
        missing = [k for k in (record_key_l, record_key_r) if k not in known]
        if missing:
            raise ValueError(f"no resolved record {missing[0]!r}: run `tamis intel resolve` first")
        conn.execute(
            entity_decisions.insert().values(
                record_key_l=record_key_l,
                record_key_r=record_key_r,
                decision=decision,
                analyst=analyst,
                reason=reason,
                decided_at=datetime.now(UTC).replace(tzinfo=None),
            )
        )
        pair = f"{record_key_l} / {record_key_r}"
        audit.record(
            conn, analyst, f"entity.{decision}", "entity_pair", pair, None, {"reason": reason}
        )


ENTITY_RECORD_SCHEMA = {c.name: pl.String for c in entity_records.columns} | {
    "resolved_at": pl.Datetime("us")
}


def read_entities(engine: Engine) -> pl.DataFrame:
    """The resolved records, typed even before any resolution has run."""
    with engine.connect() as conn:
        return pl.read_database(select(entity_records), conn, schema_overrides=ENTITY_RECORD_SCHEMA)


def importer_entities(engine: Engine) -> pl.DataFrame:
    """importer_id -> entity_id: the entity that the declarations' records of each customs
    identifier resolve to (one entity may hold several identifiers)."""
    return (
        read_entities(engine)
        .filter(col("source") == "declarations")
        .drop_nulls("customs_id")
        .group_by(importer_id="customs_id", entity_id="entity_id")
        .len()
        .sort("len", "entity_id", descending=[True, False])
        .unique("importer_id", keep="first")
        .select("importer_id", "entity_id")
    )


def attribute(engine: Engine, source: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` plus ``importer_id``: the customs identifier of each row's party — its
    own, else that of its resolved entity, else that of the declarations' importer spelt
    the same way (standard form of name and address)."""
    records = party_records(source, frame)
    by_entity = read_entities(engine).select("record_key", col("entity_id").alias("_entity"))
    with engine.connect() as conn:
        from tamis.store.tables import declarations

        importers = pl.read_database(
            select(declarations.c.importer_id, declarations.c.importer_name).distinct(),
            conn,
        )
    spelt = importers.select(
        col("importer_id").alias("_spelt"), name_key(col("importer_name")).alias("_name")
    ).unique("_name", keep="none")
    customs = set(importers["importer_id"].to_list())
    attributed = (
        records.with_row_index("_row")
        .with_columns(name_key(col("name")).alias("_name"))
        .join(by_entity, on="record_key", how="left")
        .join(spelt, on="_name", how="left")
        .sort("_row")
        .select(
            pl.coalesce(
                "customs_id",
                pl.when(col("_entity").is_in(list(customs))).then(col("_entity")),
                "_spelt",
            ).alias("importer_id")
        )
    )
    return frame.with_columns(attributed["importer_id"])


def entity_records_of(engine: Engine, entity_id: str) -> pl.DataFrame:
    with engine.connect() as conn:
        return pl.read_database(
            select(entity_records)
            .where(entity_records.c.entity_id == entity_id)
            .order_by(entity_records.c.source, entity_records.c.record_key),
            conn,
            infer_schema_length=None,
        )
