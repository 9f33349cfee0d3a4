"""Something that is not a well-behaved API server answers: list pages whose items are not objects, an
endpoint that answers 404 to everything, a kubeconfig server that is not a URL. Each is one clear line
(SourceError; exit 2 from the CLI), never a traceback or a library's warning."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from ktrace.cli import main
from ktrace.errors import SourceError
from ktrace.options import SourceSpec
from ktrace.sources.live import open_live
from tests.live.answering import Answer, kubeconfig, serve, stop

pytestmark = pytest.mark.slow  # servers on loopback, the kubernetes client


def _list(items: object, metadata: object = None) -> bytes:
    return orjson.dumps({"kind": "List", "apiVersion": "v1", "metadata": metadata or {"resourceVersion": "1"},
                         "items": items})


@pytest.fixture
def server() -> Iterator[Callable[[Answer], str]]:
    """Serve `answer` over plain HTTP on loopback; returns the server's URL."""
    servers: list = []

    def start(answer: Answer) -> str:
        srv, url = serve(answer)
        servers.append(srv)
        return url

    yield start
    for srv in servers:
        stop(srv)


def pods_answer(pods: bytes) -> Answer:
    """Empty lists everywhere, and `pods` for the pods."""
    return lambda path: (200, pods if path == "/api/v1/pods" else _list([]))


@pytest.mark.parametrize("pods", [
    _list([1, "two", None]),  # items that are not objects
    _list([{"metadata": ["not", "an", "object"], "spec": {}}]),  # metadata that is not an object
    _list([{"spec": {}}]),  # no metadata at all
    _list({"a": {"metadata": {}}}),  # items that are not a list
])
def test_list_items_that_are_not_objects_are_one_line(server: Callable[[Answer], str], tmp_path: Path,
                                                      pods: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    config = kubeconfig(tmp_path / "k", server(pods_answer(pods)))
    with pytest.raises(SourceError, match=r"GET /api/v1/pods with list items that are not Kubernetes objects"):
        open_live(SourceSpec(kubeconfig=config)).load()
    assert main(["check", "--kubeconfig", config]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "list items that are not Kubernetes objects" in err


def test_list_metadata_of_the_wrong_type_is_read_as_none(server: Callable[[Answer], str], tmp_path: Path) -> None:
    pod = {"metadata": {"name": "p", "namespace": "x"}, "spec": {}}
    config = kubeconfig(tmp_path / "k", server(pods_answer(_list([pod], metadata=["continue", "x"]))))
    store = open_live(SourceSpec(kubeconfig=config)).load()
    assert store.get("Pod", "x", "p") is not None


def test_an_endpoint_that_answers_404_to_everything_is_not_an_api_server(
        server: Callable[[Answer], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = server(lambda path: (404, b"404 page not found"))
    config = kubeconfig(tmp_path / "k", url)
    assert main(["check", "--kubeconfig", config]) == 2
    assert capsys.readouterr().err == f"ktrace: {url} (context 'odd') is not a Kubernetes API server (no /api)\n"
    # An API server that serves /api but none of the kinds (a very old one) is not called that.
    config = kubeconfig(tmp_path / "k2", server(lambda path: (200, b'{"kind":"APIVersions","versions":["v1"]}')
                                                if path == "/api" else (404, b"")))
    assert main(["check", "--kubeconfig", config]) == 2
    assert "not a Kubernetes API server" not in capsys.readouterr().err


def test_a_server_without_a_scheme_is_read_as_kubectl_reads_it(server: Callable[[Answer], str], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """kubectl (client-go) gives `HOST:PORT` http, or https when the cluster has TLS settings."""
    url = server(lambda path: (404, b"404 page not found"))
    config = kubeconfig(tmp_path / "k", url.removeprefix("http://"))
    assert main(["check", "--kubeconfig", config]) == 2
    assert capsys.readouterr().err == f"ktrace: {url} (context 'odd') is not a Kubernetes API server (no /api)\n"


@pytest.mark.parametrize("url", ["//127.0.0.1:6443", "127.0.0.1:99999", "https://host:99999", "https://[::1",
                                 "https://exa mple.com", "ftp://host"])
def test_a_server_that_is_not_a_url_is_one_line_without_warnings(tmp_path: Path, url: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = kubeconfig(tmp_path / "k", url)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["check", "--kubeconfig", config]) == 2
    assert [str(w.message) for w in caught] == []
    assert capsys.readouterr().err == (f"ktrace: context 'odd': the cluster's server {url!r} is not a URL like "
                                       "https://HOST[:PORT]\n")
