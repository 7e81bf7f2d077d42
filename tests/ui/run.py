"""Runs the dashboard's browser tests (pytest, tests/ui/) with the Python of .venv-test/, which
scripts/test-venv makes (./dev test runs it first): `python3 tests/ui/run.py [pytest args]`.
The meson test `dashboard` (suite `ui`) runs it with SMITH_BIN, SMITH_NATS_SERVER and
SMITH_UI_ARTIFACTS set."""
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
python = HERE.parents[1] / ".venv-test/bin/python"
if not python.is_file():
    sys.exit(f"no {python}: run scripts/test-venv (selenium and pytest are installed there)")
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
os.execv(str(python), [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE",
                       str(HERE), *sys.argv[1:]])
