"""The clinician workspace database (`psyscore.web.store`) on SQLite.

`StoreContract` holds the tests every backend must pass; tests/test_web_postgres.py runs them
against a throwaway PostgreSQL server. The SQLite-only tests (file modes, backup, migrations,
default location) follow.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("sqlalchemy")
pytest.importorskip("alembic")
pytest.importorskip("argon2")

from psyscore.errors import UsageError
from psyscore.intake import score_form
from psyscore.library import resolve_instruments
from psyscore.web import store as store_module
from psyscore.web.store import NotFound, Store, StoreError, Visit, database_url

PHQ9 = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_10": 0}
GAD7 = {f"gad7_{i}": 2 for i in range(1, 8)}


def scored(answers: dict, instruments=("phq-9",), client_id="c1", date="2026-01-05") -> dict:
    return score_form(
        resolve_instruments(list(instruments)), answers, client_id=client_id, date=date
    ).to_dict()


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    """argon2 at its smallest cost: the same algorithm, a fraction of the time."""
    monkeypatch.setattr(
        store_module,
        "PASSWORD_HASHER_OPTIONS",
        {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
    )


class StoreContract:
    """Tests every database backend passes; a subclass gives the `url` fixture."""

    @pytest.fixture
    def store(self, url):
        opened = Store.open(url)
        yield opened
        opened.close()

    # -- visits -------------------------------------------------------------------------------

    def test_visit_round_trip(self, store):
        vid = store.create_visit("c1", date="2026-01-05", instruments=["phq-9"], user="alice")
        visit = store.get_visit(vid)
        assert isinstance(visit, Visit)
        assert (visit.status, visit.answers, visit.result, visit.deleted) == (
            "in_progress",
            {},
            None,
            False,
        )
        assert (visit.client_id, visit.date, visit.instruments) == ("c1", "2026-01-05", ["phq-9"])
        assert visit.visit_number == 1 and visit.created_by == "alice"
        store.save_answers(vid, {"phq9_1": 2, "phq9_2": None}, user="alice")
        store.save_answers(vid, {"phq9_2": 3, "phq9_3": "Several days"}, user="bob")
        assert store.get_visit(vid).answers == {"phq9_1": 2, "phq9_2": 3, "phq9_3": "Several days"}
        result = scored(PHQ9)
        store.complete_visit(vid, answers=PHQ9, result=result, user="alice")
        visit = store.get_visit(vid)
        assert visit.status == "scored"
        assert visit.answers == PHQ9
        assert visit.result == json.loads(json.dumps(result))
        assert visit.updated_at >= visit.created_at

    def test_client_created_once_and_listed(self, store):
        first = store.ensure_client("AB-001", user="alice")
        assert first["client_id"] == "AB-001" and first["visit_count"] == 0
        assert store.ensure_client("AB-001", user="bob")["created_at"] == first["created_at"]
        store.create_visit("AB-002", date="2026-02-01", instruments=["gad-7"], user="alice")
        store.create_visit("AB-002", date="2026-03-01", instruments=["gad-7"], user="alice")
        store.ensure_client("a_b", user="alice")
        found = store.find_clients("ab-")
        assert [c["client_id"] for c in found] == ["AB-001", "AB-002"]
        assert found[1]["visit_count"] == 2 and found[1]["last_visit_date"] == "2026-03-01"
        assert [c["client_id"] for c in store.find_clients("a_")] == ["a_b"]  # no wildcard
        assert len(store.find_clients()) == 3
        creations = [
            a for a in store.audit_log(client_id="AB-001") if a["action"] == "create_client"
        ]
        assert len(creations) == 1

    @pytest.mark.parametrize("bad", ["", "x" * 65, "a b", "ü", "a/b", "1;drop"])
    def test_bad_client_id_refused(self, store, bad):
        with pytest.raises(StoreError, match="client id"):
            store.ensure_client(bad, user="alice")
        with pytest.raises(StoreError):
            store.create_visit(bad, date="2026-01-01", instruments=["phq-9"], user="alice")

    @pytest.mark.parametrize("bad", ["2026-02-30", "2026-1-5", "yesterday", "", None])
    def test_bad_date_refused(self, store, bad):
        with pytest.raises(StoreError, match="date"):
            store.create_visit("c1", date=bad, instruments=["phq-9"], user="alice")
        assert store.find_clients() == []

    def test_store_error_is_usage_error(self):
        assert issubclass(StoreError, UsageError) and issubclass(NotFound, StoreError)

    def test_unknown_visit_and_client(self, store):
        with pytest.raises(NotFound, match="no visit 99"):
            store.get_visit(99)
        with pytest.raises(NotFound, match="no client"):
            store.list_visits("nobody")
        with pytest.raises(NotFound):
            store.save_answers(99, {"phq9_1": 1}, user="alice")

    def test_visits_ordered_by_date_then_id(self, store):
        late = store.create_visit("c1", date="2026-03-01", instruments=["phq-9"], user="a")
        early = store.create_visit("c1", date="2026-01-01", instruments=["phq-9"], user="a")
        same_day = store.create_visit("c1", date="2026-01-01", instruments=["gad-7"], user="a")
        visits = store.list_visits("c1")
        assert [v.visit_id for v in visits] == [early, same_day, late]
        assert [v.visit_number for v in visits] == [1, 2, 3]
        assert store.get_visit(late).visit_number == 3

    def test_soft_delete_hides_but_audit_shows(self, store):
        keep = store.create_visit("c1", date="2026-01-01", instruments=["phq-9"], user="a")
        gone = store.create_visit("c1", date="2026-02-01", instruments=["phq-9"], user="a")
        last = store.create_visit("c1", date="2026-03-01", instruments=["phq-9"], user="a")
        store.save_answers(gone, {"phq9_1": 3}, user="a")
        store.delete_visit(gone, user="bob", reason="entered for the wrong client")
        assert [v.visit_id for v in store.list_visits("c1")] == [keep, last]
        assert store.get_visit(last).visit_number == 2  # renumbered without the deleted visit
        with pytest.raises(NotFound, match="deleted"):
            store.get_visit(gone)
        hidden = store.get_visit(gone, include_deleted=True)
        assert hidden.deleted and hidden.visit_number is None and hidden.answers == {"phq9_1": 3}
        assert len(store.list_visits("c1", include_deleted=True)) == 3
        assert store.find_clients("c1")[0]["visit_count"] == 2
        trail = store.audit_log(visit_id=gone)
        assert [a["action"] for a in trail] == ["create_visit", "save_answers", "delete_visit"]
        assert trail[-1]["user"] == "bob"
        assert trail[-1]["changes"]["reason"] == "entered for the wrong client"
        with pytest.raises(NotFound):
            store.save_answers(gone, {"phq9_1": 1}, user="a")
        with pytest.raises(NotFound):
            store.delete_visit(gone, user="a")

    def test_audit_names_items_never_answers(self, store):
        vid = store.create_visit("c1", date="2026-01-01", instruments=["phq-9"], user="alice")
        store.save_answers(vid, {"phq9_1": 3, "phq9_9": 2}, user="alice")
        store.save_answers(vid, {"phq9_1": 3}, user="alice")  # unchanged: no audit row
        store.save_answers(vid, {"phq9_1": 1.0, "phq9_2": None}, user="alice")
        trail = store.audit_log(visit_id=vid)
        assert [a["changes"].get("items") for a in trail[1:]] == [
            ["phq9_1", "phq9_9"],
            ["phq9_1", "phq9_2"],
        ]
        for row in trail:
            assert set(row) == {"at", "user", "action", "visit_id", "client_id", "changes"}
            assert row["at"].endswith("+00:00")
        text = json.dumps([a["changes"] for a in trail])
        assert "3" not in text.replace("phq9_", "")  # item ids, never the answers

    def test_changing_a_scored_answer_clears_the_result(self, store):
        vid = store.create_scored_visit(
            "c1",
            date="2026-01-05",
            instruments=["phq-9"],
            answers=PHQ9,
            result=scored(PHQ9),
            user="alice",
        )
        store.save_answers(vid, {"phq9_1": 1}, user="alice")  # the same answer: still scored
        assert store.get_visit(vid).status == "scored"
        store.save_answers(vid, {"phq9_1": 3}, user="alice")
        visit = store.get_visit(vid)
        assert (visit.status, visit.result) == ("in_progress", None)
        with pytest.raises(StoreError, match="not scored"):
            store.update_result(vid, result=scored(PHQ9), user="alice")
        store.complete_visit(vid, answers=visit.answers, result=scored(visit.answers), user="a")
        store.update_result(vid, result={"rescored": True}, user="bob")
        assert store.get_visit(vid).result == {"rescored": True}
        assert store.audit_log(visit_id=vid)[-1]["action"] == "update_result"

    def test_scored_visit_is_one_transaction(self, store):
        with pytest.raises(StoreError):
            store.create_scored_visit(
                "c9",
                date="2026-01-05",
                instruments=["phq-9"],
                answers={"phq9_1": object()},
                result={},
                user="a",
            )
        assert store.find_clients() == []
        vid = store.create_scored_visit(
            "c9",
            date="2026-01-05",
            instruments=["phq-9"],
            answers=PHQ9,
            result=scored(PHQ9),
            user="a",
        )
        assert store.get_visit(vid).status == "scored"
        assert [a["action"] for a in store.audit_log(client_id="c9")] == [
            "create_client",
            "create_visit",
        ]

    def test_non_finite_answers_refused_and_result_nan_stored_as_null(self, store):
        vid = store.create_visit("c1", date="2026-01-05", instruments=["phq-9"], user="a")
        with pytest.raises(StoreError, match="phq9_1"):
            store.save_answers(vid, {"phq9_1": float("nan")}, user="a")
        with pytest.raises(StoreError, match="phq9_1"):
            store.save_answers(vid, {"phq9_1": True}, user="a")
        with pytest.raises(StoreError, match="at most"):
            store.save_answers(vid, {"phq9_1": "x" * 5000}, user="a")
        with pytest.raises(StoreError, match="at most"):
            store.save_answers(vid, {f"i{n}": 1 for n in range(3000)}, user="a")
        store.complete_visit(vid, answers=PHQ9, result={"z": float("inf")}, user="a")
        assert store.get_visit(vid).result == {"z": None}

    def test_restart_keeps_every_visit(self, url):
        first = Store.open(url)
        ids = [
            first.create_scored_visit(
                f"c{n % 3}",
                date=f"2026-01-{n + 1:02d}",
                instruments=["phq-9"],
                answers=PHQ9,
                result=scored(PHQ9),
                user="a",
            )
            for n in range(6)
        ]
        first.close()
        again = Store.open(url)
        try:
            assert sorted(v.visit_id for v in again.all_visits()) == ids
            assert again.get_visit(ids[-1]).answers == PHQ9
        finally:
            again.close()

    def test_concurrent_writers_lose_no_visit(self, url):
        stores = [Store.open(url), Store.open(url)]  # two servers on one database
        errors: list[BaseException] = []
        per_thread = 15

        def write(store: Store, name: str) -> None:
            try:
                for n in range(per_thread):
                    vid = store.create_visit(
                        "shared", date="2026-01-01", instruments=["phq-9"], user=name
                    )
                    store.save_answers(vid, {"phq9_1": n % 4}, user=name)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [
            threading.Thread(target=write, args=(stores[i % 2], f"user{i}")) for i in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            assert errors == []
            visits = stores[0].list_visits("shared")
            assert len(visits) == 4 * per_thread
            assert [v.visit_number for v in visits] == list(range(1, 4 * per_thread + 1))
            assert len({v.visit_id for v in visits}) == 4 * per_thread
        finally:
            for s in stores:
                s.close()

    # -- users --------------------------------------------------------------------------------

    def test_users(self, store):
        assert not store.has_users()
        store.add_user("alice", "correct horse battery")
        assert store.has_users()
        assert store.verify_user("alice", "correct horse battery")
        assert not store.verify_user("alice", "correct horse batterY")
        assert not store.verify_user("alice", "")
        assert not store.verify_user("mallory", "correct horse battery")
        with pytest.raises(StoreError, match="exists"):
            store.add_user("alice", "another password")
        with pytest.raises(StoreError, match="at least 8"):
            store.add_user("bob", "short")
        assert [u["name"] for u in store.list_users()] == ["alice"]
        store.remove_user("alice")
        assert not store.has_users() and not store.verify_user("alice", "correct horse battery")
        with pytest.raises(NotFound):
            store.remove_user("alice")

    def test_password_hash_is_argon2(self, store):
        import sqlalchemy as sa

        from psyscore.web.models import users

        store.add_user("alice", "correct horse battery")
        with store._read() as conn:
            stored = conn.execute(sa.select(users.c.password_hash)).scalar_one()
        assert stored.startswith("$argon2id$") and "correct horse" not in stored

    # -- export -------------------------------------------------------------------------------

    def test_export_all(self, store):
        vid = store.create_scored_visit(
            "c1",
            date="2026-01-05",
            instruments=["phq-9"],
            answers=PHQ9,
            result=scored(PHQ9),
            user="a",
        )
        gone = store.create_visit("c2", date="2026-01-06", instruments=["gad-7"], user="a")
        store.delete_visit(gone, user="a")
        store.add_user("alice", "correct horse battery")
        dump = store.export_all()
        text = json.dumps(dump, allow_nan=False)
        assert "argon2" not in text and "password" not in text
        assert [c["client_id"] for c in dump["clients"]] == ["c1", "c2"]
        visits = {v["visit_id"]: v for v in dump["visits"]}
        assert visits[vid]["answers"] == PHQ9 and visits[vid]["result"]["instruments"]
        assert visits[gone]["deleted"] is True
        assert dump["users"][0]["name"] == "alice"
        assert dump["schema_revision"] == store_module.head_revision()
        assert {a["action"] for a in dump["audit"]} >= {"create_visit", "delete_visit"}

    def test_all_visits_date_range_keeps_visit_numbers(self, store):
        for day in ("01", "02", "03"):
            store.create_visit("c1", date=f"2026-01-{day}", instruments=["phq-9"], user="a")
        found = store.all_visits(start="2026-01-02", end="2026-01-02")
        assert [(v.date, v.visit_number) for v in found] == [("2026-01-02", 2)]
        assert store.all_visits(status="scored") == []


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def url(self, tmp_path):
        return str(tmp_path / "workspace.db")


# ---- SQLite only ------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_files_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "w.db"
        store = Store.open(path)
        store.create_visit("c1", date="2026-01-01", instruments=["phq-9"], user="a")
        assert _mode(path) == 0o600
        assert (tmp_path / "w.db-wal").exists()
        assert _mode(tmp_path / "w.db-wal") == 0o600
        assert _mode(tmp_path / "w.db-shm") == 0o600
        store.close()
    finally:
        os.umask(old)


def test_sqlite_pragmas(tmp_path):
    store = Store.open(tmp_path / "w.db")
    try:
        with store._read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        store.close()


def test_default_location(tmp_path, monkeypatch):
    monkeypatch.setenv("PSYSCORE_DATA_DIR", str(tmp_path / "data"))
    store = Store.open()
    store.close()
    assert (tmp_path / "data" / "workspace.db").exists()
    assert _mode(tmp_path / "data") == 0o700
    monkeypatch.delenv("PSYSCORE_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert database_url(None) == f"sqlite:///{tmp_path / 'xdg' / 'psyscore' / 'workspace.db'}"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert store_module.default_db_path() == tmp_path / "home/.local/share/psyscore/workspace.db"


def test_database_urls(tmp_path):
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u:pw@h:5433/db") == "postgresql+psycopg://u:pw@h:5433/db"
    assert database_url(f"sqlite:///{tmp_path}/x.db") == f"sqlite:///{tmp_path}/x.db"
    assert database_url(tmp_path / "x.db") == f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(StoreError, match=r"mysql://u:\*\*\*@h/db") as info:
        database_url("mysql://u:secret@h/db")
    assert "secret" not in str(info.value)
    shown = store_module._url_without_password("postgresql+psycopg://u:s3cr@t@h/db")
    assert shown == "postgresql+psycopg://u:***@h/db"
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "no" / "such" / "w.db")
    with pytest.raises(StoreError, match="a file"):
        Store.open("sqlite:///:memory:")


def test_backup_while_in_use(tmp_path):
    store = Store.open(tmp_path / "w.db")
    other = Store.open(tmp_path / "w.db")
    ids = [
        store.create_scored_visit(
            "c1",
            date="2026-01-05",
            instruments=["phq-9"],
            answers=PHQ9,
            result=scored(PHQ9),
            user="a",
        )
        for _ in range(3)
    ]
    reader = sqlite3.connect(tmp_path / "w.db")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM visits").fetchall()  # a read transaction stays open
    try:
        store.backup(tmp_path / "copy.db")
        assert _mode(tmp_path / "copy.db") == 0o600
        assert not (tmp_path / "copy.db-wal").exists()
        with pytest.raises(StoreError, match="exists"):
            store.backup(tmp_path / "copy.db")
    finally:
        reader.close()
        other.close()
        store.close()
    copy = Store.open(tmp_path / "copy.db")
    try:
        assert [v.visit_id for v in copy.list_visits("c1")] == ids
        assert copy.get_visit(ids[0]).answers == PHQ9
    finally:
        copy.close()


def test_migration_from_empty_database(tmp_path):
    path = tmp_path / "w.db"
    sqlite3.connect(path).close()  # an empty file, as an older psyscore might leave
    store = Store.open(path)
    try:
        assert store.revision() == store_module.head_revision()
    finally:
        store.close()


def test_migration_from_base_revision_keeps_data(tmp_path):
    import sqlalchemy as sa

    path = tmp_path / "w.db"
    engine, _ = store_module._create_engine(f"sqlite:///{path}", default=False)
    assert store_module.upgrade(engine, "0001") == "0001"
    with engine.begin() as conn:  # the base schema, filled as the first release would
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
                "'[\"phq-9\"]', :answers, NULL, 'in_progress', '2025-01-02T00:00:00+00:00', "
                "'2025-01-02T00:00:00+00:00', 'alice', 0)"
            ),
            {"answers": json.dumps(PHQ9)},
        )
    engine.dispose()
    store = Store.open(path)
    try:
        assert store.revision() == store_module.head_revision() != "0001"
        (visit,) = store.list_visits("old")
        assert visit.answers == PHQ9 and visit.visit_number == 1
        store.complete_visit(visit.visit_id, answers=PHQ9, result=scored(PHQ9), user="a")
    finally:
        store.close()


def test_migrations_build_the_models(tmp_path):
    """The schema the migrations make is the one models.py describes (no drift)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from psyscore.web.models import metadata

    store = Store.open(tmp_path / "w.db")
    try:
        with store._engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        store.close()
    assert diff == []


def test_database_from_a_newer_psyscore_refused(tmp_path):
    path = tmp_path / "w.db"
    Store.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="newer psyscore"):
        Store.open(path)


def test_open_without_migrating_checks_the_revision(tmp_path):
    path = tmp_path / "w.db"
    with pytest.raises(StoreError, match="psyscore db upgrade"):
        Store.open(path, migrate=False)
    Store.open(path).close()
    Store.open(path, migrate=False).close()


def test_backup_of_postgres_refused():
    store = Store.__new__(Store)
    store.sqlite_path = None
    store._engine = type("E", (), {"dialect": type("D", (), {"name": "postgresql"})()})()
    with pytest.raises(StoreError, match="pg_dump"):
        store.backup("/nonexistent/x.db")


def test_migrations_ship_in_the_package():
    """Alembic needs no alembic.ini at run time: everything is under psyscore/web/migrations."""
    root = Path(store_module.__file__).parent / "migrations"
    assert (root / "env.py").is_file()
    assert sorted(p.name for p in (root / "versions").glob("*.py"))[0] == "0001_base.py"
    assert not (Path(store_module.__file__).parents[3] / "alembic.ini").exists()


def test_two_servers_opening_a_new_database_at_once(tmp_path):
    """Both migrate (one waits for the other); neither fails, the schema is made once."""
    path = tmp_path / "w.db"
    opened: list[Store] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            opened.append(Store.open(path))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == [] and len(opened) == 3
        assert {s.revision() for s in opened} == {store_module.head_revision()}
    finally:
        for s in opened:
            s.close()


_steps = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(1, 5)),  # a visit on day 1-5
        st.tuples(st.just("delete"), st.integers(0, 20)),  # the n-th visit still listed
    ),
    max_size=12,
)


_clients = itertools.count()


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory):
    opened = Store.open(tmp_path_factory.mktemp("prop") / "w.db")
    yield opened
    opened.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=_steps)
def test_visit_numbers_follow_dates_after_any_deletes(shared_store, steps):
    """Whatever is created and deleted, the listed visits are the live ones in (date, id) order,
    numbered 1..n, and every visit ever made is still in the database."""
    client = f"p{next(_clients)}"  # a new client per example
    shared_store.ensure_client(client, user="a")
    live: list[tuple[str, int]] = []
    made = []
    for action, value in steps:
        if action == "create":
            date = f"2026-01-{value:02d}"
            vid = shared_store.create_visit(client, date=date, instruments=["phq-9"], user="a")
            live.append((date, vid))
            made.append(vid)
        elif live:
            date, vid = sorted(live)[value % len(live)]
            shared_store.delete_visit(vid, user="a")
            live.remove((date, vid))
    listed = shared_store.list_visits(client)
    assert [(v.date, v.visit_id) for v in listed] == sorted(live)
    assert [v.visit_number for v in listed] == list(range(1, len(live) + 1))
    every = shared_store.list_visits(client, include_deleted=True)
    assert sorted(v.visit_id for v in every) == sorted(made)
