"""The workspace store on PostgreSQL: the same contract as on SQLite, on a throwaway server.

The server is started from Debian's `postgresql` binaries (initdb + pg_ctl, found under
/usr/lib/postgresql/*/bin or on PATH) in a temporary folder, listening on a Unix socket only,
and stopped at the end. As root it runs as the `postgres` user (PostgreSQL refuses root). Each
test gets a fresh database. Skipped, saying why, where the binaries or psycopg are missing.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("psycopg", reason="psycopg (the postgres extra) is not installed")

from psyscore.web import store as store_module
from psyscore.web.store import Store, StoreError

from .test_web_store import PHQ9, StoreContract, cheap_passwords, scored  # noqa: F401

DB_USER = "psyscore"


def _server_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps it off PATH)."""
    found = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _run_as() -> list[str] | None:
    """Command prefix to run the server as a user PostgreSQL accepts (never root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--"] if runuser else None


@pytest.fixture(scope="module")
def pg_server():
    bin_dir = _server_binaries()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        )
    prefix = _run_as()
    if prefix is None:
        pytest.skip("running as root without a `postgres` user or runuser to start the server")
    root = Path(tempfile.mkdtemp(prefix="psyscore-pg-"))
    if prefix:
        os.chown(root, pwd.getpwnam("postgres").pw_uid, pwd.getpwnam("postgres").pw_gid)
    data, socket_dir = root / "data", root
    log = root / "server.log"

    def run(*args: str) -> None:
        proc = subprocess.run(
            [*prefix, *args], capture_output=True, text=True, timeout=120, cwd=root
        )
        if proc.returncode != 0:
            detail = proc.stdout + proc.stderr
            if log.exists():
                detail += log.read_text(errors="replace")
            raise RuntimeError(f"{args[0]} failed: {detail[-2000:]}")

    run(
        str(bin_dir / "initdb"),
        "-D",
        str(data),
        "-U",
        DB_USER,
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-sync",
    )
    options = f"-k {socket_dir} -c listen_addresses='' -c fsync=off -c max_connections=50"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
    try:
        yield f"postgresql://{DB_USER}@/%s?host={socket_dir}"
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


_names = itertools.count()


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty database on the throwaway server; dropped afterwards."""
    import sqlalchemy as sa

    name = f"psyscore_test_{os.getpid()}_{next(_names)}"
    admin = sa.create_engine(
        store_module.database_url(pg_server % "postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield pg_server % name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="module")
def pg_shared(pg_server):
    """One database for the contract tests (a database per test costs seconds each)."""
    import sqlalchemy as sa

    name = f"psyscore_contract_{os.getpid()}"
    admin = sa.create_engine(
        store_module.database_url(pg_server % "postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield pg_server % name
    finally:
        admin.dispose()  # the server and its data go at the end of the module


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def url(self, pg_shared):
        """The shared database, emptied after each test (ids restart at 1)."""
        import sqlalchemy as sa

        yield pg_shared
        engine = sa.create_engine(store_module.database_url(pg_shared))
        try:
            with engine.begin() as conn:
                if sa.inspect(conn).has_table("visits"):
                    conn.exec_driver_sql(
                        "TRUNCATE clients, visits, audit, users RESTART IDENTITY CASCADE"
                    )
        finally:
            engine.dispose()


def test_backup_says_use_pg_dump(pg_url, tmp_path):
    with Store.open(pg_url) as store:
        assert not store.is_sqlite
        with pytest.raises(StoreError, match="pg_dump"):
            store.backup(tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def test_migration_from_base_revision_keeps_data(pg_url):
    import sqlalchemy as sa

    engine, _ = store_module._create_engine(store_module.database_url(pg_url), default=False)
    assert store_module.upgrade(engine, "0001") == "0001"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO clients (client_id, created_at, created_by) "
                "VALUES ('old', '2025-01-01T00:00:00+00:00', 'alice')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO visits (client_id, date, instruments, answers, result, status, "
                "created_at, updated_at, created_by, deleted) VALUES ('old', '2025-01-02', "
                "'[\"phq-9\"]', '{}', NULL, 'in_progress', '2025-01-02T00:00:00+00:00', "
                "'2025-01-02T00:00:00+00:00', 'alice', false)"
            )
        )
    engine.dispose()
    with Store.open(pg_url) as store:
        assert store.revision() == store_module.head_revision()
        (visit,) = store.list_visits("old")
        store.complete_visit(visit.visit_id, answers=PHQ9, result=scored(PHQ9), user="a")
        assert store.get_visit(visit.visit_id).status == "scored"


def test_migrations_build_the_models(pg_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from psyscore.web.models import metadata

    with Store.open(pg_url) as store, store._engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_unreachable_server_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="cannot open database"):
        Store.open(f"postgresql://nobody@/nowhere?host={tmp_path}")
