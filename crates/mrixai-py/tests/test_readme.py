"""The Python examples of README.md and crates/mrixai-py/README.md run as written (from the
repository root, as the README says)."""

import os
import re

import pytest

from conftest import ROOT

BLOCKS = [
    (name, code)
    for name in ["README.md", "crates/mrixai-py/README.md"]
    for code in re.findall(r"```python\n(.*?)```", (ROOT / name).read_text(), re.S)
    if "import numpy as np, mrixai" in code
]


@pytest.mark.parametrize("name,code", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_readme_example_runs(name, code, capsys):
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(compile(code, name, "exec"), {})
    finally:
        os.chdir(here)
    assert "emd_score" in capsys.readouterr().out


def test_both_readmes_have_an_example():
    assert {b[0] for b in BLOCKS} == {"README.md", "crates/mrixai-py/README.md"}
