"""A throwaway PostgreSQL cluster of a test's own (initdb + pg_ctl), to stop and start at will.

Root cannot run a cluster: as root, initdb and pg_ctl run as the ``postgres`` user through
``runuser``, in a data folder that user owns. Without PostgreSQL's programs the tests that
need a cluster are skipped with the reason, outside CI; in CI (CI=true) they fail.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.servers import free_port

TIMEOUT = 60  # seconds any pg_ctl or initdb may take on a loaded machine


def _bindir() -> Path | None:
    """The folder of initdb and pg_ctl: pg_config's, else the newest Debian install."""
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        bindir = Path(found.stdout.strip())
        if found.returncode == 0 and (bindir / "pg_ctl").is_file():
            return bindir
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    if shutil.which("pg_ctl") and shutil.which("initdb"):
        return Path(shutil.which("pg_ctl")).parent
    return None


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"a throwaway PostgreSQL cluster is needed in CI: {reason}")
    pytest.skip(reason)


class Cluster:
    """A cluster in ``data`` on 127.0.0.1:``port``, its superuser ``user`` trusted."""

    def __init__(self, bindir: Path, data: Path, port: int, run_as: str | None) -> None:
        self.bindir, self.data, self.port, self.run_as = bindir, data, port, run_as
        self.user = run_as or pwd.getpwuid(os.geteuid()).pw_name
        self.log = data.parent / "postgres.log"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        # what it says goes to a file, not a pipe: a server it starts would hold a pipe open
        with tempfile.TemporaryFile() as said:
            done = subprocess.run(
                command, stdin=subprocess.DEVNULL, stdout=said, stderr=said, timeout=TIMEOUT
            )
            said.seek(0)
            words = said.read().decode(errors="replace")
        assert done.returncode == 0, f"{program} {' '.join(args)} failed: {words}"

    def pg_ctl(self, action: str, *args: str) -> None:
        self._run("pg_ctl", action, "-D", str(self.data), "-w", "-t", str(TIMEOUT), *args)

    def start(self) -> None:
        # no Unix socket: the folder of the system's socket may be closed to this user
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories=''"
        self.pg_ctl("start", "-o", options, "-l", str(self.log))

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as when a server restarts."""
        self.pg_ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"


@contextmanager
def throwaway_cluster(database: str = "tamis") -> Iterator[Cluster]:
    """A running cluster with an empty ``database``; stopped and removed afterwards."""
    bindir = _bindir()
    if bindir is None:
        _missing("no PostgreSQL server programs (pg_ctl, initdb) on this machine")
    run_as = None
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            _missing("running as root, and no runuser to run PostgreSQL as another user")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            _missing("running as root, and no postgres user to run PostgreSQL as")
        run_as = "postgres"
    # not under pytest's tmp_path: its folders are closed to any user but the one running it
    top = Path(tempfile.mkdtemp(prefix="tamis-pg-"))
    data = top / "data"
    data.mkdir()
    if run_as:
        for path in (top, data):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    cluster = Cluster(bindir, data, free_port(), run_as)
    started = False
    try:
        cluster._run("initdb", "-D", str(data), "-A", "trust", "-U", cluster.user, "--no-sync")
        cluster.start()
        started = True
        admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {database}"))
        admin.dispose()
        yield cluster
    finally:
        if started:
            with contextlib.suppress(AssertionError):  # a test may have stopped it already
                cluster.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(top, ignore_errors=True)
