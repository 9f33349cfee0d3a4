"""The demo scenario with fields of the wrong type, through `ktrace check` and `ktrace trace` as a user
runs them (`-f FILE`, YAML or JSON): every field of every document may become a list, a dict, a number
(a 5,000-digit integer among them), a huge string or null. Never a traceback: exit 0, 1 or 2.

A fixed budget of examples from a fixed seed (`derandomize`): the same examples on every run."""

from __future__ import annotations

import contextlib
import re
import tempfile
from pathlib import Path

import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ktrace.cli import main
from ktrace.sim.demo import load_scenario

pytestmark = pytest.mark.slow  # ~10 s: a few hundred examples, each a check and a trace

DEMO = load_scenario("demo").objects
HOSTS = ["shop.demo.example", "aspnetapp.demo.example", "pay.demo.example/api", "catalog.demo.example",
         "status.demo.example", "store.demo.example"]
HUGE_INT = "HUGE-INTEGER-7f3a"  # written as 5,000 digits: no serializer would write such an int


def _fields(obj: object, path: tuple = ()) -> list[tuple]:
    """The path of every value in `obj`, the whole document included."""
    out = [path]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _fields(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _fields(v, (*path, i))
    return out


FIELDS = [(i, path) for i, doc in enumerate(DEMO) for path in _fields(doc)]

numbers = st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False),
                   st.just(HUGE_INT))
wrong = st.one_of(
    st.lists(st.one_of(numbers, st.text(max_size=5), st.none()), max_size=3),
    st.dictionaries(st.sampled_from(["name", "port", "app", "x"]), st.one_of(numbers, st.text(max_size=5)),
                    max_size=2),
    numbers, st.just("x" * 100_000), st.none(), st.booleans(),
)


def _replace(obj: object, path: tuple, value: object) -> object:
    if not path:
        return value
    if not isinstance(obj, dict | list) or (isinstance(obj, list) and not isinstance(path[0], int)):
        raise LookupError(path)
    copy: dict | list = dict(obj) if isinstance(obj, dict) else list(obj)
    copy[path[0]] = _replace(copy[path[0]], path[1:], value)
    return copy


def _written(docs: list, as_json: bool) -> str:
    text = orjson.dumps(docs).decode() if as_json else yaml.safe_dump_all(docs, sort_keys=False)
    return re.sub(rf"['\"]?{HUGE_INT}['\"]?", "9" * 5000, text)


@settings(max_examples=200, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(st.sampled_from(FIELDS), wrong), min_size=1, max_size=6), st.booleans(),
       st.sampled_from(HOSTS))
def test_wrong_types_anywhere_never_a_traceback(mutations: list, as_json: bool, host: str) -> None:
    docs = list(DEMO)
    for (i, path), value in mutations:
        with contextlib.suppress(LookupError):  # an earlier mutation replaced what held the field
            docs[i] = _replace(docs[i], path, value)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("demo.json" if as_json else "demo.yaml")
        path.write_text(_written(docs, as_json))
        for argv in (["check", "-f", str(path)], ["trace", host, "-f", str(path)]):
            assert main(argv) in (0, 1, 2), argv


def test_the_huge_integer_reaches_the_file() -> None:
    """The 5,000-digit integer is written as digits in both formats (else the test above would not try it)."""
    for as_json in (True, False):
        text = _written([{"kind": "Pod", "n": HUGE_INT}], as_json)
        assert "9" * 5000 in text and HUGE_INT not in text


@settings(max_examples=120, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(st.sampled_from(FIELDS), wrong), min_size=1, max_size=4), st.booleans())
def test_wrong_types_in_a_plans_changes_never_a_traceback(mutations: list, as_json: bool) -> None:
    """`ktrace plan -f CHANGES --against -f DEMO` where the changes are demo objects with fields of the wrong type:
    laid over the demo as kubectl apply would (pods and slices the controllers would make included)."""
    docs = list(DEMO)
    for (i, path), value in mutations:
        with contextlib.suppress(LookupError):
            docs[i] = _replace(docs[i], path, value)
    changed = [docs[i] for i in sorted({i for (i, _), _ in mutations})]
    with tempfile.TemporaryDirectory() as tmp:
        base, change = Path(tmp) / "demo.yaml", Path(tmp) / ("change.json" if as_json else "change.yaml")
        base.write_text(_written(DEMO, False))
        change.write_text(_written(changed, as_json))
        assert main(["plan", "-f", str(change), "--against", "-f", str(base)]) in (0, 1, 2)
