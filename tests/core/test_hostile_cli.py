"""Every output of `trace` and `check` (text, JSON, SARIF, previews, errors) against names that carry
12 kinds of control sequence and invisible character: none reaches the output raw, each is shown as a
visible escape, and text still fits the terminal's width (escapes are laid out, not added after)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ktrace.cli import main
from tests.hostile import HOST, PAYLOADS, UNSERVED, Payload, hidden_in, write

# surface -> the command line (`{p}` is the payload); every command reads the directory with the file.
SURFACES = {
    "trace": ["trace", HOST],
    "trace-json": ["trace", HOST, "-o", "json"],
    "check": ["check"],  # findings, their file:line, the summary line
    "check-json": ["check", "-o", "json"],
    "check-sarif": ["check", "-o", "sarif"],
    "preview": ["trace", HOST, "--via", "other{p}", "--backend", "web"],
    "weights-preview": ["trace", HOST, "--weights", "web=50,canary{p}=50"],
    "backend-error": ["trace", HOST, "--via", "web", "--backend", "nope"],  # lists the backendRef names
    "weights-error": ["trace", HOST, "--weights", "nope=5"],  # lists the backendRef names
    "via-namespace-error": ["trace", HOST, "--via", "elsewhere/other", "--backend", "web"],
    "closest-hosts": ["trace", UNSERVED],
}


def strings(doc: object) -> list[str]:
    if isinstance(doc, dict):
        return [s for k, v in doc.items() for s in [k, *strings(v)]]
    if isinstance(doc, list):
        return [s for v in doc for s in strings(v)]
    return [doc] if isinstance(doc, str) else []


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.id)
def test_no_raw_control_character_and_a_visible_escape(surface: str, payload: Payload, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    write(tmp_path / "manifests", payload.raw)
    argv = [a.format(p=payload.raw) for a in SURFACES[surface]]
    code = main([*argv, "-f", str(tmp_path / "manifests")])
    out, err = capsys.readouterr()
    assert code == (2 if surface.endswith("error") else 1), err
    assert not hidden_in(out + err)
    if surface.endswith(("json", "sarif")):  # JSON escapes: the data is the cluster's, unchanged
        found = strings(json.loads(out))
        assert any(payload.raw in s for s in found)
        if surface == "check-sarif":  # the file the finding is in, by name
            assert any(s.endswith(f"route{payload.raw}.yaml") for s in found)
        return
    assert payload.shown in out + err
    lines = out.splitlines()  # (an error is one line on stderr, however long)
    if surface == "check":
        assert f"route{payload.shown}.yaml:" in out  # the file name found in the directory
        lines = lines[:-1]  # so is the summary line (it names the directory)
    assert all(len(line) <= 80 for line in lines)  # pytest's terminal: 80 columns
