"""Shared fixtures: the repository's golden files and the `mrixai` binary of the same
checkout (built by `cargo build --release -p mrixai-cli` or the test suite), for
side-by-side equality with the command line."""

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures"


def _binary():
    env = os.environ.get("MRIXAI_BIN")
    if env:
        return pathlib.Path(env)
    found = ROOT / "target" / "release" / "mrixai"
    return found if found.is_file() else None


@pytest.fixture(scope="session")
def cli():
    """Runs the command-line tool: cli("score", "--attributions", …)."""
    exe = _binary()
    if exe is None or not exe.is_file():
        pytest.skip("target/release/mrixai not built (cargo build --release -p mrixai-cli)")

    def run(*args):
        r = subprocess.run(
            [str(exe), *map(str, args), "--quiet"] if args[0] in ("score", "explain", "synth") else [str(exe), *map(str, args)],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
        return r

    return run


@pytest.fixture()
def tmp(tmp_path):
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)
