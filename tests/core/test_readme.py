"""The README stays true: its catalog table matches the code, CI runs its test command."""

import re
from pathlib import Path

import pytest

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


@pytest.mark.slow
def test_the_plan_example_is_what_ktrace_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's Markdown of a plan is real output: the command it names, run now."""
    from ktrace.cli import main

    shown = README.split("a typo fixed on another), as it renders:\n\n")[1]
    shown = shown.split("\n\n`-o json`")[0]
    assert main(["plan", "--demo", "-f", str(ROOT / "examples" / "plan" / "change.yaml"), "-o", "markdown"]) == 1
    out = capsys.readouterr().out.replace(str(ROOT) + "/", "")
    assert out.strip() == shown.strip()
