"""The README stays true: its catalog table matches the code, CI runs its test command."""

import re
from pathlib import Path

from ktrace.checks import CATALOG

ROOT = Path(__file__).resolve().parent.parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_catalog_table_matches_the_code() -> None:
    """Same codes, severities, descriptions and order (`ktrace check --help` and SARIF list them in it)."""
    rows = re.findall(r"^\| `([a-z-]+)` \| (info|warning|error) \| (.*) \|$", README, flags=re.M)
    assert rows == [(code, rule.severity, rule.description) for code, rule in CATALOG.items()]


def test_ci_runs_the_readme_test_command() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    assert len(blocks) >= 2, "the quick start has two commands"
    test_command = blocks[1].strip()
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
