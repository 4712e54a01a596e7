"""Headless Chromium for reports: find the browser, print HTML to PDF, take a PNG, dump the DOM.

Standard library only, so importing it costs nothing. Every run gets a fresh private temporary
folder (mode 0700) holding the HTML page, the browser profile (`--user-data-dir`), HOME and the XDG
folders, and the browser's output; the folder is removed afterwards, whatever happened, and so are
any browser processes still running (the browser runs in its own process group; helpers that leave
it, such as the crash handler, are found by the folder on their command line). Finished files are
put in place atomically (written beside the target, then `os.replace`). The browser's own console
output is kept off the screen and out of error messages, since a report holds a client's answers;
`BrowserError.detail` keeps its tail for tests and debugging.

The binary: `$PSYSCORE_CHROMIUM` if set (a path or a command name), else the first of chromium,
chromium-browser, google-chrome on PATH.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import UsageError

ENV_VAR = "PSYSCORE_CHROMIUM"
NAMES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT = 60.0  # seconds for one browser run; read at call time, so tests may lower it

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
)

NOT_FOUND = (
    "--pdf needs headless Chromium and none was found (looked for {names} on PATH; "
    "${env} may name the browser). Install chromium (Debian/Ubuntu: apt-get install chromium), "
    "or write the report with --html and print it to PDF from any browser."
)


class BrowserError(UsageError):
    """The browser is missing, failed or timed out. The message never quotes report content."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail  # tail of the browser's stderr: for tests and debugging only


def find_browser() -> str | None:
    """Path of the browser to use, or None. `$PSYSCORE_CHROMIUM` wins when it is set."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return _resolve_override(override)
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_browser() -> str:
    """The browser's path, or a BrowserError (exit 2) saying what to install or do instead."""
    found = find_browser()
    if found is None:
        raise BrowserError(NOT_FOUND.format(names=", ".join(NAMES), env=ENV_VAR))
    return found


def _resolve_override(value: str) -> str:
    path = Path(value).expanduser()
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    found = shutil.which(value)
    if found:
        return found
    raise BrowserError(
        f"${ENV_VAR} is set to {value!r}, which is not an executable file or a command on PATH"
    )


def html_to_pdf(
    html: str, out: Path, *, browser: str | None = None, timeout: float | None = None
) -> None:
    """Print `html` (a standalone page) to the PDF file `out`, atomically.

    Paper size and margins come from the page's CSS `@page` rule; no header or footer is added.
    """
    with _session(html) as (run, work):
        pdf = work / "out.pdf"
        run(browser, ["--no-pdf-header-footer", f"--print-to-pdf={pdf}"], timeout, "print to PDF")
        _check_output(pdf, b"%PDF-", "a PDF")
        _place(pdf, Path(out))


def html_to_png(
    html: str,
    out: Path,
    *,
    width: int = 1000,
    height: int = 1400,
    browser: str | None = None,
    timeout: float | None = None,
) -> None:
    """Screenshot of `html` as shown on screen, `width` x `height` CSS pixels, to the PNG `out`."""
    with _session(html) as (run, work):
        png = work / "out.png"
        args = [f"--screenshot={png}", f"--window-size={width},{height}"]
        run(browser, args, timeout, "take a screenshot")
        _check_output(png, b"\x89PNG", "a PNG image")
        _place(png, Path(out))


def dump_dom(html: str, *, browser: str | None = None, timeout: float | None = None) -> str:
    """The DOM of `html` after the browser has loaded it, serialised as HTML."""
    with _session(html) as (run, _work):
        return run(browser, ["--dump-dom"], timeout, "load the page")


# ---- internals --------------------------------------------------------------------------------


@contextlib.contextmanager
def _session(html: str) -> Iterator[tuple]:
    work = Path(tempfile.mkdtemp(prefix="psyscore-browser-"))
    try:
        page = work / "report.html"
        page.write_text(html, encoding="utf-8")

        def run(browser: str | None, args: list[str], timeout: float | None, what: str) -> str:
            exe = browser or require_browser()
            profile = work / "profile"
            home = work / "home"
            profile.mkdir()
            home.mkdir()
            env = dict(os.environ)
            env.update(
                HOME=str(home),
                XDG_CONFIG_HOME=str(home / ".config"),
                XDG_CACHE_HOME=str(home / ".cache"),
                XDG_DATA_HOME=str(home / ".local" / "share"),
            )
            env.pop(ENV_VAR, None)
            argv = [exe, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
            return _run(argv, env, TIMEOUT if timeout is None else timeout, what, work)

        yield run, work
    finally:
        _kill_strays(work)
        _remove(work)


def _run(argv: list[str], env: dict[str, str], timeout: float, what: str, cwd: Path) -> str:
    name = Path(argv[0]).name
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,  # its own process group: helpers can be ended with it
        )
    except OSError as exc:
        raise BrowserError(f"could not start {argv[0]}: {exc.strerror or exc}") from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        try:
            _stdout, stderr = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # a helper that left the group still holds the pipes
            proc.kill()
            stderr = b""
        raise BrowserError(
            f"{name} did not {what} within {timeout:g} s and was stopped; nothing was written. "
            "Try again, or write the report with --html and print it from a browser.",
            _tail(stderr),
        ) from None
    finally:
        _kill_group(proc.pid)  # helper processes (zygote, crashpad) must not outlive the run
    if proc.returncode != 0:
        raise BrowserError(
            f"{name} could not {what} (exit code {proc.returncode}); nothing was written. "
            "Write the report with --html and print it from a browser instead.",
            _tail(stderr),
        )
    return stdout.decode("utf-8", errors="replace")


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _kill_strays(work: Path) -> None:
    """End processes that still name our private folder on their command line.

    Chromium's crash handler (crashpad) starts a session of its own, out of reach of the process
    group, with `--database=<our HOME>/...`; it would otherwise linger for a few seconds and keep
    files open in the folder we are about to remove. Linux only (/proc); elsewhere a no-op.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return
    needle = os.fsencode(f"{work}{os.sep}")
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)


def _tail(stderr: bytes | None, lines: int = 20) -> str:
    text = (stderr or b"").decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def _check_output(path: Path, magic: bytes, what: str) -> None:
    try:
        with path.open("rb") as fh:
            head = fh.read(len(magic))
    except FileNotFoundError:
        head = b""
    if head != magic:
        raise BrowserError(
            f"the browser did not produce {what}; nothing was written. "
            "Write the report with --html and print it from a browser instead."
        )


def _place(src: Path, dest: Path) -> None:
    """Copy `src` to a temporary file beside `dest`, then rename it over `dest`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove(folder: Path) -> None:
    # a killed helper may still be closing files in the profile for a moment
    for _ in range(20):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.1)
