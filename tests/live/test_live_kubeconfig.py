"""Context resolution follows kubectl's rules, not the Python client's (no server needed here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from ktrace.cli import parse_args, source_spec
from ktrace.errors import SourceError
from ktrace.sources.kubeconfig import IN_CLUSTER, connect, kubeconfig_files, resolve_context
from ktrace.sources.live import open_live
from ktrace.sources.protocol import label


def write(path: Path, current: str | None, contexts: dict[str, tuple[str, str | None]]) -> str:
    """contexts: name -> (server, namespace)."""
    doc: dict = {"apiVersion": "v1", "kind": "Config",
                 "clusters": [{"name": f"c-{n}", "cluster": {"server": s}} for n, (s, _) in contexts.items()],
                 "users": [{"name": f"u-{n}", "user": {"token": f"token-{n}"}} for n in contexts],
                 "contexts": [{"name": n, "context": {"cluster": f"c-{n}", "user": f"u-{n}",
                                                     **({"namespace": ns} if ns else {})}}
                              for n, (_, ns) in contexts.items()]}
    if current is not None:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc))
    return str(path)


@pytest.fixture
def two_files(tmp_path: Path) -> tuple[str, str]:
    a = write(tmp_path / "a.yaml", "alpha", {"alpha": ("http://127.0.0.1:1", "team-a"),
                                             "shared": ("http://127.0.0.1:11", None)})
    b = write(tmp_path / "b.yaml", "beta", {"beta": ("http://127.0.0.1:2", "team-b"),
                                            "shared": ("http://127.0.0.1:22", "ignored")})
    return a, b


def test_first_file_sets_the_current_context_as_in_kubectl(two_files: tuple[str, str]) -> None:
    a, b = two_files
    info = resolve_context(None, None, {"KUBECONFIG": os.pathsep.join([a, b])})
    assert (info.name, info.namespace, info.server) == ("alpha", "team-a", "http://127.0.0.1:1")
    assert info.files == (a, b)
    swapped = resolve_context(None, None, {"KUBECONFIG": os.pathsep.join([b, a])})
    assert swapped.name == "beta"


def test_named_entries_first_file_wins_and_context_from_second_file(two_files: tuple[str, str]) -> None:
    a, b = two_files
    env = {"KUBECONFIG": os.pathsep.join([a, b])}
    assert resolve_context(None, "shared", env).server == "http://127.0.0.1:11"
    beta = resolve_context(None, "beta", env)
    assert (beta.server, beta.namespace) == ("http://127.0.0.1:2", "team-b")


def test_missing_kubeconfig_entries_are_skipped_and_empty_ones_ignored(two_files: tuple[str, str],
                                                                       tmp_path: Path) -> None:
    a, _ = two_files
    env = {"KUBECONFIG": os.pathsep.join(["", str(tmp_path / "nope.yaml"), a])}
    assert kubeconfig_files(None, env) == [a]


def test_explicit_kubeconfig_replaces_the_environment(two_files: tuple[str, str]) -> None:
    a, b = two_files
    assert resolve_context(b, None, {"KUBECONFIG": a}).name == "beta"
    with pytest.raises(SourceError, match="does not exist"):
        resolve_context(b + ".missing", None, {})


def test_unknown_context_names_the_known_ones(two_files: tuple[str, str]) -> None:
    a, b = two_files
    with pytest.raises(SourceError) as e:
        resolve_context(None, "gamma", {"KUBECONFIG": os.pathsep.join([a, b])})
    assert "'gamma'" in str(e.value) and "alpha, beta, shared" in str(e.value)
    assert "\n" not in str(e.value)


def test_no_current_context_asks_for_one(tmp_path: Path) -> None:
    path = write(tmp_path / "k.yaml", None, {"x": ("http://127.0.0.1:1", None)})
    with pytest.raises(SourceError, match="--context"):
        resolve_context(path, None, {})
    assert resolve_context(path, "x", {}).namespace == "default"


def test_broken_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("clusters:\n  - name: [\n")
    with pytest.raises(SourceError, match=r"bad\.yaml:\d+ is not valid YAML"):
        resolve_context(str(bad), None, {})


def test_in_cluster_only_without_any_kubeconfig(tmp_path: Path, two_files: tuple[str, str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config here
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    info = resolve_context(None, None, env)
    assert (info.name, info.server) == (IN_CLUSTER, "https://10.0.0.1:443")
    assert resolve_context(None, None, {**env, "KUBECONFIG": two_files[0]}).name == "alpha"
    with pytest.raises(SourceError, match="no kubeconfig found"):
        resolve_context(None, None, {})


@pytest.mark.parametrize("command", [["check"], ["trace", "shop.example.com"], []], ids=["check", "trace", "tui"])
@pytest.mark.parametrize(("flags", "expected"), [
    ([], None),  # one rule everywhere: every namespace you may list, whatever the context's namespace
    (["-A"], None),
    (["-n", "web"], "web"),
])
def test_one_scope_rule_for_every_command(two_files: tuple[str, str], command: list[str], flags: list[str],
                                          expected: str | None) -> None:
    assert resolve_context(two_files[0], None, {}).namespace == "team-a"
    spec = source_spec(parse_args(["--kubeconfig", two_files[0], *command, *flags]))
    assert spec.namespace == expected
    source = open_live(spec)
    try:
        assert source.namespace == expected
        assert label(source).endswith(f", namespace {expected}" if expected else ", all namespaces")
    finally:
        source.close()


def test_one_private_configuration_per_context(two_files: tuple[str, str]) -> None:
    from kubernetes import client

    a, b = two_files
    env = {"KUBECONFIG": os.pathsep.join([a, b])}
    default_host = client.Configuration.get_default_copy().host
    alpha = connect(resolve_context(None, None, env), pool_size=7)
    beta = connect(resolve_context(None, "beta", env), pool_size=3)
    assert alpha.configuration.host == "http://127.0.0.1:1"
    assert alpha.configuration.api_key["BearerToken"] == "Bearer token-alpha"
    assert beta.configuration.host == "http://127.0.0.1:2"
    assert alpha.configuration.connection_pool_maxsize == 7
    assert client.Configuration.get_default_copy().host == default_host  # the global default is untouched


def test_socks_proxy_resolves_names_on_the_proxy_or_says_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text(yaml.safe_dump({
        "clusters": [{"name": "c", "cluster": {"server": "https://10.1.2.3:6443", "proxy-url": "socks5://jump:1080"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "behind-jump", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "behind-jump"}))
    info = resolve_context(str(path), None, {})
    try:
        import socks  # noqa: F401
    except ImportError:
        with pytest.raises(SourceError, match=r"socks5h://jump:1080, which needs PySocks"):
            connect(info, pool_size=2)
    else:
        assert connect(info, pool_size=2).configuration.proxy == "socks5h://jump:1080"
