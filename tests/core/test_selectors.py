import pytest

from ktrace.selectors import SelectorError, from_label_selector, matches, parse


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app==web", {"app": "web"}, True),
        ("app=web", {"App": "web"}, False),
        ("app!=web", {}, True),
        ("app!=web", {"app": "web"}, False),
        ("tier in (a, b)", {"tier": "b"}, True),
        ("tier in (a,b)", {"tier": "c"}, False),
        ("tier notin (a,b)", {}, True),
        ("tier notin (a,b)", {"tier": "a"}, False),
        ("canary", {"canary": ""}, True),
        ("!canary", {"canary": "x"}, False),
        ("app=web,!canary,tier in (a)", {"app": "web", "tier": "a"}, True),
        ("", {"anything": "x"}, True),
    ],
)
def test_string_selectors(text: str, labels: dict, expected: bool) -> None:
    assert matches(parse(text), labels) is expected


@pytest.mark.parametrize("bad", ["app=", "=web", "a b", "!a in (x)", "app===web"])
def test_invalid_selectors_are_rejected(bad: str) -> None:
    if bad == "app=":  # an empty value is valid in Kubernetes: `app=` selects app with ""
        assert matches(parse(bad), {"app": ""})
        return
    with pytest.raises(SelectorError):
        parse(bad)


def test_structured_selector() -> None:
    sel = from_label_selector({"matchLabels": {"app": "web"},
                               "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]},
                                                    {"key": "legacy", "operator": "DoesNotExist"}]})
    assert matches(sel, {"app": "web", "env": "prod"})
    assert not matches(sel, {"app": "web", "env": "dev"})
    assert not matches(sel, {"app": "web", "legacy": "1"})
    with pytest.raises(SelectorError):
        from_label_selector({"matchExpressions": [{"key": "a", "operator": "Near"}]})
