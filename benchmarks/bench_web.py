"""Load test of the workspace JSON API on the loopback interface: no visit lost or duplicated.

    python benchmarks/bench_web.py [--seconds 60] [--clients 20] [--pg-url postgresql://...]
                                   [--pg] [--max-requests 100000]

Starts `psyscore serve` (this checkout, a subprocess) on a free 127.0.0.1 port over a fresh
SQLite database in a temporary folder, then `--clients` threads each post PHQ-9 + GAD-7 visits
(`POST /api/clients/{id}/visits`, keep-alive connection, one client id per thread, one visit date
after the other, so every visit is compared with that client's earlier ones) for `--seconds`
seconds or until `--max-requests` in all. Prints requests per second and p50/p95/max latency,
then checks the count: every 201 answer's visit id is listed by `GET /api/clients/{id}/visits`
exactly once, and the database holds exactly the visits that were answered 201 (no lost visit,
no duplicate, no visit stored for a refused request).

PostgreSQL: `--pg-url URL` (an empty database you can spare), or `--pg` to start a throwaway
server from Debian's `postgresql` binaries (initdb + pg_ctl, Unix socket only; as root it runs as
the `postgres` user) for the run. Loopback only; bounded in time and count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import http.client
import json
import os
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHQ9 = {f"phq9_{i}": (i % 3) for i in range(1, 10)} | {"phq9_10": 0}
GAD7 = {f"gad7_{i}": (i % 4) for i in range(1, 8)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: str, port: int, folder: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PSYSCORE_DATA_DIR=str(folder))
    proc = subprocess.Popen(
        [sys.executable, "-m", "psyscore", "serve", "--db", db, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
    proc.kill()
    raise SystemExit("the server did not answer within 60 s")


class Worker(threading.Thread):
    def __init__(self, n: int, port: int, stop_at: float, budget: list[int], lock) -> None:
        super().__init__(daemon=True)
        self.client_id = f"bench-{n:02d}"
        self.port, self.stop_at, self.budget, self.lock = port, stop_at, budget, lock
        self.latencies: list[float] = []
        self.created: list[int] = []
        self.failures: list[str] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Content-Type": "application/json", "Host": f"127.0.0.1:{self.port}"}
        day = dt.date(2020, 1, 1)
        while time.monotonic() < self.stop_at:
            with self.lock:
                if self.budget[0] <= 0:
                    return
                self.budget[0] -= 1
            body = json.dumps(
                {
                    "date": day.isoformat(),
                    "instruments": ["phq-9", "gad-7"],
                    "answers": PHQ9 | GAD7,
                    "sex": "male",
                }
            )
            started = time.perf_counter()
            try:
                conn.request("POST", f"/api/clients/{self.client_id}/visits", body, headers)
                response = conn.getresponse()
                payload = response.read()
            except OSError as exc:
                self.failures.append(f"{type(exc).__name__}")
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                continue
            self.latencies.append(time.perf_counter() - started)
            if response.status == 201:
                self.created.append(json.loads(payload)["visit_id"])
            else:
                self.failures.append(str(response.status))
            day += dt.timedelta(days=1)


def listed_ids(port: int, client_id: str) -> list[int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", f"/api/clients/{client_id}/visits", headers={"Host": f"127.0.0.1:{port}"})
    response = conn.getresponse()
    data = json.loads(response.read())
    return [v["visit_id"] for v in data.get("visits", [])]


def stored_count(db: str) -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from psyscore.web.store import Store

    with Store.open(db) as store:
        return len(store.all_visits(include_deleted=True))


def run(db: str, label: str, args) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="psyscore-bench-web-"))
    port = free_port()
    proc = start_server(db, port, folder)
    try:
        lock = threading.Lock()
        budget = [args.max_requests]
        stop_at = time.monotonic() + args.seconds
        workers = [Worker(n, port, stop_at, budget, lock) for n in range(args.clients)]
        began = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join(args.seconds + 120)
        elapsed = time.perf_counter() - began
        latencies = sorted(x for w in workers for x in w.latencies)
        created = [i for w in workers for i in w.created]
        failures = [f for w in workers for f in w.failures]
        listed = [i for w in workers for i in listed_ids(port, w.client_id)]
        per_client_ok = all(
            sorted(listed_ids(port, w.client_id)) == sorted(w.created) for w in workers
        )
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(folder, ignore_errors=True)
    in_db = stored_count(db)
    ok = (
        per_client_ok
        and len(set(created)) == len(created)
        and sorted(listed) == sorted(created)
        and in_db == len(created)
    )
    return {
        "database": label,
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "created": len(created),
        "failed": len(failures),
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
        "max_ms": 1000 * latencies[-1] if latencies else float("nan"),
        "listed": len(listed),
        "in_db": in_db,
        "count_ok": ok,
    }


# ---- a throwaway PostgreSQL server -------------------------------------------------------------


def start_postgres() -> tuple[str, callable]:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        raise SystemExit("--pg: PostgreSQL binaries not found (apt-get install postgresql)")
    bin_dir = Path(bins[-1]).parent
    prefix: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="psyscore-bench-pg-"))
    if os.geteuid() == 0:
        prefix = ["runuser", "-u", "postgres", "--"]
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    data = root / "data"
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "psyscore", "--auth=trust"],
        check=True,
        capture_output=True,
        cwd=root,
    )
    options = f"-k {root} -c listen_addresses='' -c max_connections=100"
    subprocess.run(
        [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log")]
        + ["-w", "start"],
        check=True,
        capture_output=True,
        cwd=root,
    )

    def stop() -> None:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            cwd=root,
        )
        shutil.rmtree(root, ignore_errors=True)

    return f"postgresql://psyscore@/postgres?host={root}", stop


def table(rows: list[dict]) -> str:
    head = "| database | clients | seconds | requests | req/s | p50 ms | p95 ms | max ms | failed | 201 = listed = stored |"
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        lines.append(
            f"| {r['database']} | {r['clients']} | {r['seconds']} | {r['requests']} | "
            f"{r['rps']:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['max_ms']:.0f} | "
            f"{r['failed']} | {r['created']} = {r['listed']} = {r['in_db']}: "
            f"{'ok' if r['count_ok'] else 'MISMATCH'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--pg-url", help="an empty PostgreSQL database to use as well")
    parser.add_argument("--pg", action="store_true", help="start a throwaway PostgreSQL server")
    args = parser.parse_args()
    if not 1 <= args.clients <= 100 or not 0 < args.seconds <= 600:
        parser.error("--clients 1-100 and --seconds up to 600")
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="psyscore-bench-db-"))
    try:
        rows.append(run(str(folder / "workspace.db"), "SQLite (WAL)", args))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    stop = None
    pg_url = args.pg_url
    if args.pg and not pg_url:
        pg_url, stop = start_postgres()
    try:
        if pg_url:
            rows.append(run(pg_url, "PostgreSQL", args))
    finally:
        if stop:
            stop()
    print(table(rows))
    return 0 if all(r["count_ok"] and not r["failed"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
