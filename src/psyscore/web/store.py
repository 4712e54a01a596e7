"""The clinician workspace database: clients, visits, the audit trail and user accounts.

`Store.open()` opens (and migrates to the current schema) one SQLite file in the user's data
folder, any SQLite file, or a PostgreSQL database for a program with several clinicians. Every
method returns plain dataclasses and dicts; nothing outside this module sees SQLAlchemy.

Every change to a visit writes its audit row in the same transaction as the change, so the
trail cannot miss a change that was stored. Audit rows name the items that changed, never the
answers. Deleting a visit is a soft delete: it disappears from lists and visit numbers but stays
in the database and its audit trail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DB_FILE_NAME = "workspace.db"
ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
MIN_PASSWORD_LENGTH = 8
# argon2-cffi's defaults (argon2id, RFC 9106 low-memory profile); tests make them cheaper
PASSWORD_HASHER_OPTIONS: dict[str, int] = {}
STATUSES = ("in_progress", "scored")
# bounds on what one visit stores (a form has tens of items; these only stop abuse)
MAX_ANSWERS = 2000
MAX_ITEM_ID = 200
MAX_TEXT_ANSWER = 2000
# the audit trail's "user" of account changes (made with `psyscore users`, not by a clinician)
ACCOUNT_ADMIN = "(psyscore users)"
# how long a SQLite writer waits for another one to finish before giving up
BUSY_TIMEOUT_S = 30.0
# one lock id for every psyscore migration on a PostgreSQL server (two servers starting at once)
PG_MIGRATION_LOCK = 0x7073_7973_636F_7265 & 0x7FFF_FFFF_FFFF_FFFF


class StoreError(UsageError):
    """A request the workspace database cannot carry out (bad id, unknown visit, ...)."""


class NotFound(StoreError):
    """The client, visit or user asked for does not exist (or the visit is deleted)."""


@dataclass
class Visit:
    visit_id: int
    client_id: str
    date: str
    # 1-based among the client's non-deleted visits in date order; None for a deleted visit
    visit_number: int | None
    instruments: list[str]
    answers: dict[str, Any]
    result: dict[str, Any] | None
    status: str
    created_at: str
    updated_at: str
    created_by: str
    deleted: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- where the database is --------------------------------------------------------------------


def data_dir() -> Path:
    """The user's psyscore data folder: $PSYSCORE_DATA_DIR, else $XDG_DATA_HOME/psyscore, else
    ~/.local/share/psyscore."""
    if os.environ.get("PSYSCORE_DATA_DIR"):
        return Path(os.environ["PSYSCORE_DATA_DIR"]).expanduser()
    if os.environ.get("XDG_DATA_HOME"):
        return Path(os.environ["XDG_DATA_HOME"]).expanduser() / "psyscore"
    return Path.home() / ".local" / "share" / "psyscore"


def default_db_path() -> Path:
    return data_dir() / DB_FILE_NAME


def database_url(url: str | os.PathLike | None = None) -> str:
    """The SQLAlchemy URL for `url`: None -> the default SQLite file, a path -> that SQLite file,
    ``sqlite:///...`` as given, ``postgresql://`` (or ``postgres://``) through psycopg 3."""
    if url is None:
        return f"sqlite:///{default_db_path()}"
    text = os.fspath(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return f"sqlite:///{Path(text).expanduser().absolute()}"
    scheme = scheme.lower()
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return f"postgresql+psycopg://{rest}"
    if scheme in ("sqlite", "sqlite+pysqlite"):
        return f"sqlite://{rest}"
    raise StoreError(
        f"database {_url_without_password(text)!r}: give a file path, sqlite:///PATH or "
        "postgresql://USER@HOST/DBNAME"
    )


def _url_without_password(text: str) -> str:
    """`text` with any password of its user part shown as ***."""
    scheme, sep, rest = text.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return text
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


def _prepare_sqlite_file(path: Path, *, default: bool) -> None:
    """Create the database file 0600 before SQLite does (SQLite gives its -wal and -shm files
    the mode of the database file), and the default data folder 0700."""
    if default:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    elif not path.parent.is_dir():
        raise StoreError(f"database {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise StoreError(
            f"database {path} is a folder; give a file name, e.g. {path / DB_FILE_NAME}"
        )
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot open database {path}: {exc.strerror}") from None
    os.close(fd)


# ---- small helpers ----------------------------------------------------------------------------


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def check_id(value: object, what: str = "client id") -> str:
    """`value` if it is a valid id (1-64 characters from A-Z a-z 0-9 . _ -), else StoreError."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        shown = value if isinstance(value, str) and len(value) <= 80 else f"{str(value)[:80]}..."
        raise StoreError(
            f"{what} {shown!r}: use 1-64 characters from A-Z, a-z, 0-9, '.', '_' and '-'"
        )
    return value


def check_date(value: object) -> str:
    if isinstance(value, str) and len(value) == 10:
        try:
            dt.date.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise StoreError(f"visit date {value!r}: give a real date as YYYY-MM-DD")


def _check_user(user: object) -> str:
    if not isinstance(user, str) or not user or len(user) > 64:
        raise StoreError("the user making a change must be named (1-64 characters)")
    return user


def _check_instruments(instruments: object) -> list[str]:
    if (
        not isinstance(instruments, list | tuple)
        or not instruments
        or not all(isinstance(i, str) and i for i in instruments)
    ):
        raise StoreError("a visit needs a non-empty list of instrument ids")
    return list(instruments)


def _json_value(value: Any) -> Any:
    """JSON-safe copy: NumPy scalars as Python numbers, NaN and infinities as None."""
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    item = getattr(value, "item", None)  # NumPy scalars
    if callable(item):
        return _json_value(item())
    raise StoreError(f"cannot store a value of type {type(value).__name__}")


def _dump(value: Any) -> str:
    return json.dumps(_json_value(value), ensure_ascii=False, allow_nan=False, sort_keys=False)


def _check_answers(answers: object) -> dict[str, Any]:
    if not isinstance(answers, Mapping):
        raise StoreError("answers must be an object: item id -> answer")
    if len(answers) > MAX_ANSWERS:
        raise StoreError(f"a visit holds at most {MAX_ANSWERS} answers")
    checked: dict[str, Any] = {}
    for key, value in answers.items():
        if not isinstance(key, str) or not key or len(key) > MAX_ITEM_ID:
            raise StoreError(f"answers must be keyed by item id (at most {MAX_ITEM_ID} characters)")
        if isinstance(value, str) and len(value) > MAX_TEXT_ANSWER:
            raise StoreError(f"answer to {key}: at most {MAX_TEXT_ANSWER} characters")
        if (
            value is not None
            and not isinstance(value, int | float | str)
            or isinstance(value, bool)
        ):
            # names the item, never the value
            raise StoreError(f"answer to {key}: give a number, a text or null (skipped)")
        if isinstance(value, float) and not math.isfinite(value):
            raise StoreError(f"answer to {key}: not a finite number")
        checked[key] = value
    return checked


def _check_result(result: object) -> dict[str, Any]:
    if not isinstance(result, Mapping):
        raise StoreError("a visit result must be an object (IntakeResult.to_dict())")
    return _json_value(result)


def _changed_items(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Item ids whose stored answer differs (1 and 1.0 are the same answer)."""
    missing = object()
    return [
        key
        for key in dict.fromkeys([*old, *new])
        if not _same(old.get(key, missing), new.get(key, missing))
    ]


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b) and not (isinstance(a, int | float) and isinstance(b, int | float)):
        return False
    return a == b


# ---- the store --------------------------------------------------------------------------------


class Store:
    """The workspace database. Open with `Store.open(url)`; thread-safe (one engine, pooled
    connections); close with `close()` or use as a context manager."""

    def __init__(self, engine, url: str, *, sqlite_path: Path | None) -> None:
        self._engine = engine
        self._url = url  # may hold a password: never shown (see describe)
        self.sqlite_path = sqlite_path
        self._hasher_lock = threading.Lock()
        self._hasher = None

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | os.PathLike | None = None, *, migrate: bool = True) -> Store:
        """Open the workspace database at `url` (see `database_url`) and migrate it to the
        schema of this psyscore (`migrate=False`: only check it is current)."""
        try:
            import alembic  # noqa: F401
            import sqlalchemy
        except ImportError:
            raise StoreError(
                'the clinician workspace needs the web extra: pip install "psyscore[web]"'
            ) from None
        full = database_url(url)
        engine, sqlite_path = _create_engine(full, default=url is None)
        store = cls(engine, full, sqlite_path=sqlite_path)
        try:
            if migrate:
                upgrade(engine)
            else:
                store._check_current()
        except sqlalchemy.exc.OperationalError as exc:
            engine.dispose()
            first = str(exc.orig or exc).strip().splitlines()[0]
            raise StoreError(f"cannot open database {store.describe()}: {first}") from None
        except BaseException:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def is_sqlite(self) -> bool:
        return self._engine.dialect.name == "sqlite"

    def describe(self) -> str:
        """Where the data is, for messages (no password)."""
        if self.sqlite_path is not None:
            return str(self.sqlite_path)
        return _url_without_password(self._url)

    def revision(self) -> str | None:
        """The schema revision the database is at (None: empty database)."""
        from alembic.runtime.migration import MigrationContext

        with self._read() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def _check_current(self) -> None:
        current, head = self.revision(), head_revision()
        if current != head:
            raise StoreError(
                f"database {self.describe()} is at schema revision {current or 'none'}, this "
                f"psyscore needs {head}: run `psyscore db upgrade`"
            )

    # -- transactions -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[Any]:
        """A transaction that writes: on SQLite it takes the write lock at BEGIN (IMMEDIATE),
        so two writers queue on the busy timeout instead of one failing half-way."""
        with self._engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Any]:
        with self._engine.connect() as conn:
            conn.execution_options(psyscore_read_only=True)
            with conn.begin():
                yield conn

    def _audit(
        self,
        conn,
        *,
        user: str,
        action: str,
        visit_id: int | None,
        client_id: str | None,
        changes: Mapping[str, Any],
        at: str,
    ) -> None:
        from .models import audit

        conn.execute(
            audit.insert().values(
                at=at,
                user_name=user,
                action=action,
                visit_id=visit_id,
                client_id=client_id,
                changes=_dump(changes),
            )
        )

    # -- clients ----------------------------------------------------------------------------

    def ensure_client(self, client_id: str, *, user: str) -> dict[str, Any]:
        """The client `client_id`, created (and audited) if it does not exist yet."""
        check_id(client_id)
        _check_user(user)
        with self._write() as conn:
            self._ensure_client(conn, client_id, user, _now())
        return self._client(client_id)

    def _ensure_client(self, conn, client_id: str, user: str, at: str) -> None:
        from .models import clients

        insert = (
            _insert_ignore(conn, clients)
            .values(client_id=client_id, created_at=at, created_by=user)
            .returning(clients.c.client_id)  # rowcount is not reliable across drivers
        )
        if conn.execute(insert).first() is not None:
            self._audit(
                conn,
                user=user,
                action="create_client",
                visit_id=None,
                client_id=client_id,
                changes={},
                at=at,
            )

    def _client(self, client_id: str) -> dict[str, Any]:
        found = [c for c in self.find_clients(client_id) if c["client_id"] == client_id]
        if not found:
            raise NotFound(f"no client {client_id!r}")
        return found[0]

    def get_client(self, client_id: str) -> dict[str, Any]:
        """The client as `find_clients` gives it; NotFound if absent."""
        check_id(client_id)
        return self._client(client_id)

    def find_clients(self, prefix: str = "", *, limit: int | None = None) -> list[dict[str, Any]]:
        """Clients whose id starts with `prefix` (ignoring case), by id: ``client_id``,
        ``created_at``, ``visit_count`` and ``last_visit_date`` (non-deleted visits)."""
        import sqlalchemy as sa

        from .models import clients, visits

        if not isinstance(prefix, str) or len(prefix) > 64:
            raise StoreError("search by the first characters of a client id")
        live = visits.c.deleted.is_(False)
        query = (
            sa.select(
                clients.c.client_id,
                clients.c.created_at,
                sa.func.count(visits.c.visit_id).label("visit_count"),
                sa.func.max(visits.c.date).label("last_visit_date"),
            )
            .select_from(
                clients.outerjoin(visits, sa.and_(visits.c.client_id == clients.c.client_id, live))
            )
            .group_by(clients.c.client_id, clients.c.created_at)
            .order_by(clients.c.client_id)
        )
        if prefix:
            query = query.where(
                sa.func.lower(clients.c.client_id).startswith(prefix.lower(), autoescape=True)
            )
        if limit is not None:
            query = query.limit(int(limit))
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {
                "client_id": r["client_id"],
                "created_at": r["created_at"],
                "visit_count": int(r["visit_count"]),
                "last_visit_date": r["last_visit_date"],
            }
            for r in rows
        ]

    # -- visits -----------------------------------------------------------------------------

    def create_visit(self, client_id: str, *, date: str, instruments: list[str], user: str) -> int:
        """Start a visit (status ``in_progress``, no answers); creates the client if needed."""
        return self._create(client_id, date, instruments, {}, None, user, scored=False)

    def create_scored_visit(
        self,
        client_id: str,
        *,
        date: str,
        instruments: list[str],
        answers: dict[str, Any],
        result: dict[str, Any],
        user: str,
    ) -> int:
        """Store a complete, scored visit in one transaction (the JSON API)."""
        return self._create(client_id, date, instruments, answers, result, user, scored=True)

    def _create(self, client_id, date, instruments, answers, result, user, *, scored) -> int:
        """Check every field, then insert the visit (not `scored`: a visit just started, with no
        answers and no result)."""
        check_id(client_id)
        check_date(date)
        instruments = _check_instruments(instruments)
        if scored:
            answers = _check_answers(answers)
            result = _check_result(result)
        _check_user(user)
        with self._write() as conn:
            return self._insert_visit(
                conn,
                client_id,
                date=date,
                instruments=instruments,
                answers=answers,
                result=result,
                user=user,
            )

    def _insert_visit(
        self,
        conn,
        client_id: str,
        *,
        date: str,
        instruments: list[str],
        answers: dict[str, Any],
        result: dict[str, Any] | None,
        user: str,
    ) -> int:
        from .models import visits

        at = _now()
        self._ensure_client(conn, client_id, user, at)
        status = "in_progress" if result is None else "scored"
        inserted = conn.execute(
            visits.insert()
            .values(
                client_id=client_id,
                date=date,
                instruments=_dump(instruments),
                answers=_dump(answers),
                result=None if result is None else _dump(result),
                status=status,
                created_at=at,
                updated_at=at,
                created_by=user,
                deleted=False,
            )
            .returning(visits.c.visit_id)
        )
        visit_id = int(inserted.scalar_one())
        changes: dict[str, Any] = {"date": date, "instruments": instruments, "status": status}
        if answers:
            changes["items"] = sorted(answers)
        self._audit(
            conn,
            user=user,
            action="create_visit",
            visit_id=visit_id,
            client_id=client_id,
            changes=changes,
            at=at,
        )
        return visit_id

    def _row_for_update(self, conn, visit_id: int):
        import sqlalchemy as sa

        from .models import visits

        visit_id = _check_visit_id(visit_id)
        query = sa.select(visits).where(visits.c.visit_id == visit_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()  # two saves of one visit apply one after the other
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"no visit {visit_id}")
        if row["deleted"]:
            raise NotFound(f"visit {visit_id} is deleted")
        return row

    def _update_visit(self, conn, visit_id: int, **values) -> None:
        from .models import visits

        conn.execute(visits.update().where(visits.c.visit_id == visit_id).values(**values))

    def save_answers(self, visit_id: int, answers: dict[str, Any], *, user: str) -> None:
        """Merge `answers` (item id -> answer; None = skipped) into the visit's answers.

        Changing an answer of a scored visit takes it back to ``in_progress`` and clears its
        result: a stored result never disagrees with the stored answers (score it again with
        `complete_visit`). The audit row lists the changed item ids, not the answers.
        """
        answers = _check_answers(answers)
        _check_user(user)
        with self._write() as conn:
            row = self._row_for_update(conn, visit_id)
            old = json.loads(row["answers"])
            merged = {**old, **answers}
            changed = _changed_items(old, merged)
            if not changed:
                return
            at = _now()
            values: dict[str, Any] = {"answers": _dump(merged), "updated_at": at}
            changes: dict[str, Any] = {"items": changed}
            if row["status"] == "scored":
                values.update(status="in_progress", result=None)
                changes["status"] = "in_progress"
                changes["result_cleared"] = True
            self._update_visit(conn, row["visit_id"], **values)
            self._audit(
                conn,
                user=user,
                action="save_answers",
                visit_id=row["visit_id"],
                client_id=row["client_id"],
                changes=changes,
                at=at,
            )

    def complete_visit(
        self, visit_id: int, *, answers: dict[str, Any], result: dict[str, Any], user: str
    ) -> None:
        """Store the answers that were scored (they replace the saved ones) and their result;
        status ``scored``."""
        answers = _check_answers(answers)
        result = _check_result(result)
        _check_user(user)
        with self._write() as conn:
            row = self._row_for_update(conn, visit_id)
            old = json.loads(row["answers"])
            at = _now()
            self._update_visit(
                conn,
                row["visit_id"],
                answers=_dump(answers),
                result=_dump(result),
                status="scored",
                updated_at=at,
            )
            self._audit(
                conn,
                user=user,
                action="complete_visit",
                visit_id=row["visit_id"],
                client_id=row["client_id"],
                changes={"items": _changed_items(old, answers), "status": "scored"},
                at=at,
            )

    def update_result(self, visit_id: int, *, result: dict[str, Any], user: str) -> None:
        """Replace the result of a scored visit (scored again, e.g. with another norm group)."""
        result = _check_result(result)
        _check_user(user)
        with self._write() as conn:
            row = self._row_for_update(conn, visit_id)
            if row["status"] != "scored":
                raise StoreError(
                    f"visit {row['visit_id']} is not scored yet: complete it with its answers"
                )
            at = _now()
            self._update_visit(conn, row["visit_id"], result=_dump(result), updated_at=at)
            self._audit(
                conn,
                user=user,
                action="update_result",
                visit_id=row["visit_id"],
                client_id=row["client_id"],
                changes={"result": "rescored"},
                at=at,
            )

    def delete_visit(self, visit_id: int, *, user: str, reason: str = "") -> None:
        """Soft delete: the visit leaves lists, visit numbers and exports; the audit keeps it."""
        _check_user(user)
        if not isinstance(reason, str) or len(reason) > 500:
            raise StoreError("the reason for deleting a visit is a text of at most 500 characters")
        with self._write() as conn:
            row = self._row_for_update(conn, visit_id)
            at = _now()
            self._update_visit(conn, row["visit_id"], deleted=True, updated_at=at)
            self._audit(
                conn,
                user=user,
                action="delete_visit",
                visit_id=row["visit_id"],
                client_id=row["client_id"],
                changes={"deleted": True, "reason": reason},
                at=at,
            )

    def get_visit(self, visit_id: int, *, include_deleted: bool = False) -> Visit:
        import sqlalchemy as sa

        from .models import visits

        visit_id = _check_visit_id(visit_id)
        with self._read() as conn:
            row = (
                conn.execute(sa.select(visits).where(visits.c.visit_id == visit_id))
                .mappings()
                .first()
            )
            if row is None or (row["deleted"] and not include_deleted):
                raise NotFound(
                    f"no visit {visit_id}" if row is None else f"visit {visit_id} is deleted"
                )
            order = (
                conn.execute(
                    sa.select(visits.c.visit_id)
                    .where(visits.c.client_id == row["client_id"], visits.c.deleted.is_(False))
                    .order_by(visits.c.date, visits.c.visit_id)
                )
                .scalars()
                .all()
            )
        numbers = {vid: n for n, vid in enumerate(order, start=1)}
        return _visit(row, numbers.get(row["visit_id"]))

    def list_visits(self, client_id: str, *, include_deleted: bool = False) -> list[Visit]:
        """The client's visits by date, then id (NotFound for an unknown client)."""
        import sqlalchemy as sa

        from .models import clients, visits

        check_id(client_id)
        with self._read() as conn:
            known = conn.execute(
                sa.select(clients.c.client_id).where(clients.c.client_id == client_id)
            ).first()
            if known is None:
                raise NotFound(f"no client {client_id!r}")
            query = (
                sa.select(visits)
                .where(visits.c.client_id == client_id)
                .order_by(visits.c.date, visits.c.visit_id)
            )
            if not include_deleted:
                query = query.where(visits.c.deleted.is_(False))
            rows = conn.execute(query).mappings().all()
        return _numbered(rows)

    def all_visits(
        self,
        *,
        start: str | None = None,
        end: str | None = None,
        status: str | None = None,
        include_deleted: bool = False,
    ) -> list[Visit]:
        """Every client's visits with dates in [start, end] (inclusive), by client, date, id;
        visit numbers count all of the client's non-deleted visits, in range or not."""
        import sqlalchemy as sa

        from .models import visits

        if start is not None:
            check_date(start)
        if end is not None:
            check_date(end)
        if status is not None and status not in STATUSES:
            raise StoreError(f"visit status {status!r}: one of {', '.join(STATUSES)}")
        with self._read() as conn:
            rows = (
                conn.execute(
                    sa.select(visits).order_by(visits.c.client_id, visits.c.date, visits.c.visit_id)
                )
                .mappings()
                .all()
            )
        found = []
        for client_visits in _by_client(rows):
            for visit in _numbered(client_visits):
                if visit.deleted and not include_deleted:
                    continue
                if (start and visit.date < start) or (end and visit.date > end):
                    continue
                if status and visit.status != status:
                    continue
                found.append(visit)
        return found

    # -- audit ------------------------------------------------------------------------------

    def audit_log(
        self, *, visit_id: int | None = None, client_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Audit rows, oldest first: ``at``, ``user``, ``action``, ``visit_id``, ``client_id``,
        ``changes`` (a dict; item ids, never answers)."""
        import sqlalchemy as sa

        from .models import audit

        query = sa.select(audit).order_by(audit.c.audit_id)
        if visit_id is not None:
            query = query.where(audit.c.visit_id == _check_visit_id(visit_id))
        if client_id is not None:
            query = query.where(audit.c.client_id == check_id(client_id))
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {
                "at": r["at"],
                "user": r["user_name"],
                "action": r["action"],
                "visit_id": r["visit_id"],
                "client_id": r["client_id"],
                "changes": json.loads(r["changes"]),
            }
            for r in rows
        ]

    # -- users ------------------------------------------------------------------------------

    def _password_hasher(self):
        with self._hasher_lock:
            if self._hasher is None:
                from argon2 import PasswordHasher

                self._hasher = PasswordHasher(**PASSWORD_HASHER_OPTIONS)
            return self._hasher

    def add_user(self, name: str, password: str) -> None:
        """Add an account; the password is stored as an argon2id hash."""
        import sqlalchemy as sa

        from .models import users

        check_id(name, "user name")
        _check_password(password)
        hashed = self._password_hasher().hash(password)
        with self._write() as conn:
            exists = conn.execute(sa.select(users.c.name).where(users.c.name == name)).first()
            if exists:
                raise StoreError(f"user {name!r} exists already (remove it first to reset it)")
            conn.execute(users.insert().values(name=name, password_hash=hashed, created_at=_now()))
            self._audit(
                conn,
                user=ACCOUNT_ADMIN,
                action="add_user",
                visit_id=None,
                client_id=None,
                changes={"name": name},
                at=_now(),
            )

    def verify_user(self, name: str, password: str) -> bool:
        """True if `name` exists and `password` is its password."""
        import sqlalchemy as sa
        from argon2.exceptions import InvalidHashError, VerificationError

        from .models import users

        hasher = self._password_hasher()
        if not isinstance(name, str) or not isinstance(password, str):
            return False
        with self._read() as conn:
            stored = conn.execute(
                sa.select(users.c.password_hash).where(users.c.name == name)
            ).scalar_one_or_none()
        if stored is None:
            # the same work as a real check, so timing does not tell which names exist
            with contextlib.suppress(VerificationError, InvalidHashError):
                hasher.verify(_dummy_hash(hasher), password)
            return False
        try:
            hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
        if hasher.check_needs_rehash(stored):  # argon2 parameters raised since it was stored
            with self._write() as conn:
                conn.execute(
                    users.update()
                    .where(users.c.name == name)
                    .values(password_hash=hasher.hash(password))
                )
        return True

    def has_users(self) -> bool:
        import sqlalchemy as sa

        from .models import users

        with self._read() as conn:
            return conn.execute(sa.select(users.c.name).limit(1)).first() is not None

    def list_users(self) -> list[dict[str, Any]]:
        """Accounts by name: ``name``, ``created_at`` (never the hash)."""
        import sqlalchemy as sa

        from .models import users

        with self._read() as conn:
            rows = (
                conn.execute(sa.select(users.c.name, users.c.created_at).order_by(users.c.name))
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    def remove_user(self, name: str) -> None:
        from .models import users

        check_id(name, "user name")
        with self._write() as conn:
            if not conn.execute(users.delete().where(users.c.name == name)).rowcount:
                raise NotFound(f"no user {name!r}")
            self._audit(
                conn,
                user=ACCOUNT_ADMIN,
                action="remove_user",
                visit_id=None,
                client_id=None,
                changes={"name": name},
                at=_now(),
            )

    # -- backup and export ------------------------------------------------------------------

    def backup(self, path: str | os.PathLike) -> None:
        """A consistent copy of a SQLite workspace while it is in use (SQLite's backup API),
        created 0600; refuses to overwrite. PostgreSQL: use pg_dump."""
        if not self.is_sqlite or self.sqlite_path is None:
            raise StoreError(
                "backup copies a SQLite workspace; for PostgreSQL use pg_dump (e.g. "
                "`pg_dump -Fc DBNAME > workspace.dump`)"
            )
        target = Path(path).expanduser()
        if target.exists():
            raise StoreError(f"{target} exists; choose a new file name (a backup never overwrites)")
        if not target.parent.is_dir():
            raise StoreError(f"cannot write {target}: the folder {target.parent} does not exist")
        try:
            fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot write {target}: {exc.strerror}") from None
        os.close(fd)
        try:
            raw = self._engine.raw_connection()
            try:
                source = raw.driver_connection
                copy = sqlite3.connect(target)
                try:
                    source.backup(copy)
                    # a single self-contained file (no -wal beside it); opening it as a
                    # workspace turns WAL back on
                    copy.execute("PRAGMA journal_mode=DELETE")
                finally:
                    copy.close()
            finally:
                raw.close()
        except BaseException:
            with contextlib.suppress(OSError):
                target.unlink()
            raise
        os.chmod(target, 0o600)

    def export_all(self) -> dict[str, Any]:
        """Everything in the workspace as JSON-safe data (no password hashes): clients, visits
        (deleted ones too, with their answers and results), the audit trail, user names."""
        visits = self.all_visits(include_deleted=True)
        return {
            "psyscore_workspace_export": 1,
            "exported_at": _now(),
            "schema_revision": self.revision(),
            "clients": self.find_clients(),
            "visits": [v.to_dict() for v in visits],
            "audit": self.audit_log(),
            "users": self.list_users(),
        }


# ---- module helpers ---------------------------------------------------------------------------


def _check_visit_id(visit_id: object) -> int:
    if isinstance(visit_id, bool) or not isinstance(visit_id, int) or visit_id < 1:
        raise StoreError(f"visit id {visit_id!r}: a positive whole number")
    return int(visit_id)


def _check_password(password: object) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise StoreError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise StoreError("a password of at most 1024 characters")


_DUMMY_HASHES: dict[int, str] = {}


def _dummy_hash(hasher) -> str:
    key = id(hasher)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hasher.hash("psyscore-no-such-user")
    return _DUMMY_HASHES[key]


def _visit(row: Mapping[str, Any], number: int | None) -> Visit:
    result = row["result"]
    return Visit(
        visit_id=int(row["visit_id"]),
        client_id=row["client_id"],
        date=row["date"],
        visit_number=number,
        instruments=json.loads(row["instruments"]),
        answers=json.loads(row["answers"]),
        result=None if result is None else json.loads(result),
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_by=row["created_by"],
        deleted=bool(row["deleted"]),
    )


def _numbered(rows) -> list[Visit]:
    """Visits of one client (ordered by date, id) with their visit numbers."""
    found, number = [], 0
    for row in rows:
        if not row["deleted"]:
            number += 1
        found.append(_visit(row, None if row["deleted"] else number))
    return found


def _by_client(rows) -> Iterator[list]:
    current: list = []
    for row in rows:
        if current and current[0]["client_id"] != row["client_id"]:
            yield current
            current = []
        current.append(row)
    if current:
        yield current


def _insert_ignore(conn, table):
    """INSERT that does nothing when the primary key exists (two clinicians creating the same
    client at once both succeed)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


def _create_engine(url: str, *, default: bool):
    import sqlalchemy as sa
    from sqlalchemy import event

    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise StoreError('PostgreSQL needs psycopg: pip install "psyscore[postgres]"') from None
        return sa.create_engine(url, pool_pre_ping=True), None
    database = parsed.database
    if not database or database == ":memory:":
        raise StoreError("a workspace is a file: give a path (an in-memory database keeps nothing)")
    path = Path(database).expanduser().absolute()
    _prepare_sqlite_file(path, default=default)
    engine = sa.create_engine(
        parsed.set(database=str(path)),
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, record) -> None:
        # transactions are begun below (the driver's own implicit BEGIN would be DEFERRED)
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        _wal_mode(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
        # every commit on disk before it returns: a saved answer survives a power cut too
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        read_only = conn.get_execution_options().get("psyscore_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine, path


def _wal_mode(cursor) -> None:
    """Switch a new database to WAL. The mode is kept in the file, so usually there is nothing
    to do; switching needs the database to itself, and SQLite answers "database is locked" at
    once (without the busy timeout) when another server is opening it at the same moment, so
    retry until the timeout."""
    import sqlite3
    import time

    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# ---- migrations -------------------------------------------------------------------------------


def alembic_config(connection=None):
    """An Alembic configuration in code (no alembic.ini): psyscore's migrations, on
    `connection` if given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine, revision: str = "head") -> str | None:
    """Migrate the database to `revision` (default: this psyscore's schema) in one transaction;
    return the revision it is at."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    with engine.connect() as conn:
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})")
            current = MigrationContext.configure(conn).get_current_revision()
            if current is not None and current not in {s.revision for s in script.walk_revisions()}:
                raise StoreError(
                    f"the database is at schema revision {current}, which this psyscore does not "
                    "know: it was made by a newer psyscore; upgrade psyscore"
                )
            command.upgrade(alembic_config(conn), revision)
        conn.execution_options(psyscore_read_only=True)
        return MigrationContext.configure(conn).get_current_revision()
