"""How the command starts: `python -m psyscore`, a light `--version`, and out-of-memory."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

import psyscore
from psyscore.cli import app

from .conftest import ROOT

runner = CliRunner()
SAMPLE_CSV = ROOT / "sample_data" / "intake_batch.csv"


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "psyscore", "--version"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"psyscore {psyscore.__version__}"


def test_version_does_not_import_pandas():
    code = (
        "import sys\n"
        "from psyscore.cli import main\n"
        "sys.argv = ['psyscore', '--version']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == f"psyscore {psyscore.__version__}"
    assert lines[-1] == "False"


def test_out_of_memory_while_scoring_is_one_clear_line_exit_3_nothing_written(
    tmp_path, monkeypatch
):
    from psyscore.cli import score as score_module

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(score_module, "read_table", no_memory)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["score", str(SAMPLE_CSV), "-i", "phq-9", "-o", str(out)])
    assert result.exit_code == 3
    message = result.output.strip()
    assert "not enough memory" in message and "try" in message
    assert "Traceback" not in message
    assert len(message.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_score_help_documents_exit_code_3():
    result = runner.invoke(app, ["score", "--help"])
    assert result.exit_code == 0
    assert "3" in result.output and "memory" in result.output
