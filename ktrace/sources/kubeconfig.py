"""Which cluster, user and namespace to talk to: kubeconfig resolved the way kubectl resolves it.

The context is resolved here (not by the client) because with several KUBECONFIG files the
official client takes `current-context` from the last file that sets it and kubectl from the
first. The client then only builds one private Configuration for the context we name.
Nothing here imports `kubernetes` except `connect()`.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from ktrace.ending import on_end
from ktrace.errors import SourceError
from ktrace.printable import clean

if TYPE_CHECKING:
    from ktrace.sources.credentials import ExecCredentials

IN_CLUSTER = "in-cluster"
_SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True, slots=True)
class ContextInfo:
    """A resolved context: enough to connect and to name it in messages."""

    name: str  # the context name, or IN_CLUSTER
    namespace: str  # the context's namespace ("default" when it sets none)
    server: str
    user: str
    files: tuple[str, ...]  # kubeconfig files in precedence order; empty in-cluster


def kubeconfig_files(explicit: str | None, environ: os._Environ | dict[str, str] = os.environ) -> list[str]:
    """kubectl's loading rules: --kubeconfig alone (it must exist), else every existing KUBECONFIG
    entry (missing ones are skipped), else ~/.kube/config if it exists."""
    if explicit:
        paths = [os.path.expanduser(p) for p in explicit.split(os.pathsep) if p]
        for p in paths:
            if not os.path.isfile(p):
                raise SourceError(f"kubeconfig {p} does not exist")
        return paths
    if environ.get("KUBECONFIG"):
        seen: list[str] = []
        for p in environ["KUBECONFIG"].split(os.pathsep):
            p = os.path.expanduser(p)
            if p and p not in seen and os.path.isfile(p):
                seen.append(p)
        return seen
    default = os.path.expanduser("~/.kube/config")
    return [default] if os.path.isfile(default) else []


def _read(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as e:
        raise SourceError(f"cannot read kubeconfig {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise SourceError(f"kubeconfig {path}{where} is not valid YAML") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise SourceError(f"kubeconfig {path} is not a kubeconfig (expected a mapping)")
    return doc


def _named(doc: dict[str, Any], section: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for entry in doc.get(section) or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            out[entry["name"]] = entry
    return out


def context_names(files: tuple[str, ...] | list[str]) -> list[str]:
    """Every context the kubeconfig files define, in name order (the TUI offers to switch to them)."""
    names: set[str] = set()
    for path in files:
        names.update(_named(_read(path), "contexts"))
    return sorted(names)


def resolve_context(kubeconfig: str | None, context: str | None,
                    environ: os._Environ | dict[str, str] = os.environ) -> ContextInfo:
    """The context kubectl would use for these options, or SourceError with one line."""
    files = kubeconfig_files(kubeconfig, environ)
    if not files:
        if environ.get("KUBERNETES_SERVICE_HOST") and environ.get("KUBERNETES_SERVICE_PORT") and not context:
            return _in_cluster(environ)
        raise SourceError("no kubeconfig found (KUBECONFIG, ~/.kube/config) and not running inside a cluster: "
                          "use --kubeconfig PATH, -f FILES or --demo")
    # Named entries and current-context: the first file that defines them wins, as in kubectl.
    contexts: dict[str, dict[str, Any]] = {}
    clusters: dict[str, dict[str, Any]] = {}
    current = ""
    for path in files:
        doc = _read(path)
        for section, into in (("contexts", contexts), ("clusters", clusters)):
            for name, entry in _named(doc, section).items():
                into.setdefault(name, entry)
        if not current and isinstance(doc.get("current-context"), str):
            current = doc["current-context"]
    where = ", ".join(files)
    name = context or current
    if not name:
        known = ", ".join(sorted(contexts)) or "none"
        raise SourceError(f"{where} sets no current-context: pass --context NAME (contexts: {known})")
    if name not in contexts:
        known = ", ".join(sorted(contexts)) or "none"
        raise SourceError(f"context {name!r} is not in {where} (contexts: {known})")
    ctx = contexts[name].get("context") or {}
    cluster_name = ctx.get("cluster", "")
    cluster = (clusters.get(cluster_name) or {}).get("cluster") or {}
    if not cluster.get("server"):
        raise SourceError(f"context {name!r} refers to cluster {cluster_name!r}, which has no server in {where}")
    server = _server_url(cluster, name)
    return ContextInfo(name=name, namespace=ctx.get("namespace") or "default", server=server,
                       user=str(ctx.get("user") or ""), files=tuple(files))


def _server_url(cluster: dict, context: str) -> str:
    """The cluster's server as an http(s) URL with a host, or one clear line now (rather than urllib3's
    FutureWarning about a missing scheme, or its parse errors, on the first request). A server without a
    scheme (`HOST:PORT`) gets the one kubectl gives it: https when the cluster has TLS settings, else http."""
    server = written = cluster["server"]
    if isinstance(server, str) and "://" not in server and not server.startswith("/"):
        tls = any(cluster.get(k) for k in ("certificate-authority", "certificate-authority-data",
                                           "insecure-skip-tls-verify", "tls-server-name"))
        server = f"{'https' if tls else 'http'}://{server}"
    try:
        url = urlsplit(server)  # type: ignore[type-var]
        ok = url.scheme in ("https", "http") and bool(url.hostname) and not any(c.isspace() for c in url.netloc)
        ok = ok and (url.port or 0) >= 0  # .port raises ValueError unless it is a number in 0-65535
    except (ValueError, TypeError, AttributeError):  # not even a string
        ok = False
    if not ok:
        raise SourceError(f"context {context!r}: the cluster's server {written!r} is not a URL like "
                          "https://HOST[:PORT]")
    return server  # type: ignore[return-value]


def _in_cluster(environ: os._Environ | dict[str, str]) -> ContextInfo:
    try:
        namespace = (_SA_DIR / "namespace").read_text().strip() or "default"
    except OSError:
        namespace = "default"
    host = environ["KUBERNETES_SERVICE_HOST"]
    host = f"[{host}]" if ":" in host else host
    return ContextInfo(name=IN_CLUSTER, namespace=namespace, server=f"https://{host}:{environ['KUBERNETES_SERVICE_PORT']}",
                       user="serviceaccount", files=())


_private_dir: str | None = None


def _temp_dir() -> str:
    """Inline certificate data (the CA, a client certificate and its private key) goes to files: keep them in
    one private directory, removed however the process ends (signals included)."""
    global _private_dir
    if _private_dir is None:
        _private_dir = tempfile.mkdtemp(prefix="ktrace-kube-")
        on_end(functools.partial(shutil.rmtree, _private_dir, True))
    return _private_dir


def _entry(files: tuple[str, ...], section: str, name: str) -> tuple[dict[str, Any], str]:
    """A named cluster or user (the first file defining it wins) and the directory of that file."""
    for path in files:
        entry = _named(_read(path), section).get(name)
        if entry is not None:
            return entry.get(section[:-1]) or {}, os.path.dirname(os.path.abspath(path))
    return {}, ""


def exec_credentials(info: ContextInfo) -> ExecCredentials | None:
    """The exec-plugin credentials of the context's user, or None when it uses none."""
    if info.name == IN_CLUSTER:
        return None
    from ktrace.sources.credentials import for_user

    user, base = _entry(info.files, "users", info.user)
    return for_user(info.files, info.name, user, base)


def _without_user(info: ContextInfo) -> dict[str, Any]:
    """A one-context kubeconfig for the client: the cluster (file paths made absolute, as they were
    relative to their own file) and no user: the token comes from ExecCredentials."""
    cluster, base = _entry(info.files, "clusters", _context_cluster(info))
    cluster = dict(cluster)
    ca = cluster.get("certificate-authority")
    if ca and not os.path.isabs(ca):
        cluster["certificate-authority"] = os.path.join(base, ca)
    return {"clusters": [{"name": "c", "cluster": cluster}], "users": [{"name": "u", "user": {}}],
            "contexts": [{"name": info.name, "context": {"cluster": "c", "user": "u"}}],
            "current-context": info.name}


def _context_cluster(info: ContextInfo) -> str:
    for path in info.files:
        ctx = _named(_read(path), "contexts").get(info.name)
        if ctx is not None:
            return str((ctx.get("context") or {}).get("cluster") or "")
    return ""


def connect(info: ContextInfo, pool_size: int) -> Any:
    """A private kubernetes ApiClient for this context (never the client's global default).

    `pool_size` should cover every request or watch that may be open at once: each holds a connection.
    Exec plugins and OIDC refresh run inside the client, on the first request and when tokens expire.
    """
    from kubernetes import client, config

    cfg = client.Configuration()
    creds = exec_credentials(info)
    try:
        if info.name == IN_CLUSTER:
            config.load_incluster_config(client_configuration=cfg)
        elif creds is not None:  # the client must not run the plugin itself (see credentials.py)
            config.load_kube_config_from_dict(_without_user(info), context=info.name, client_configuration=cfg,
                                              temp_file_path=_temp_dir())
        else:
            config.load_kube_config(config_file=os.pathsep.join(info.files), context=info.name,
                                    client_configuration=cfg, temp_file_path=_temp_dir())
    except (config.ConfigException, OSError, ValueError, KeyError, TypeError) as e:
        raise SourceError(f"context {info.name!r}: cannot load credentials: {_first_line(e)}") from None
    if cfg.host != info.server:  # a server written without a scheme: the one kubectl would give it
        cfg.host = info.server
        # The client's token refresh, before every request, sets the host as written and itself anew.
        refresh = cfg.refresh_api_key_hook
        if refresh is not None:
            def refresh_keeping_host(c: Any, refresh: Any = refresh) -> None:
                refresh(c)
                c.host, c.refresh_api_key_hook = info.server, refresh_keeping_host

            cfg.refresh_api_key_hook = refresh_keeping_host
    if creds is not None:
        creds.install(cfg)  # runs the plugin now unless a valid token is at hand
    if cfg.proxy and cfg.proxy.startswith("socks5://"):
        # kubectl resolves the API server's name on the proxy (jump hosts); urllib3 calls that socks5h.
        cfg.proxy = "socks5h://" + cfg.proxy[len("socks5://"):]
    if not cfg.verify_ssl:
        _warn_insecure(info)
    cfg.connection_pool_maxsize = pool_size
    cfg.keep_alive = True  # TCP keepalive: a dead VPN or NAT entry surfaces as an error, not a hang
    # No retries inside urllib3 (they also log to stderr): a failed list is reported, a watch resumes itself.
    cfg.retries = False
    try:
        with warnings.catch_warnings():  # the missing-PySocks warning would precede our one line
            warnings.simplefilter("ignore")
            api = client.ApiClient(configuration=cfg)
    except ImportError:  # urllib3's SOCKS support comes with PySocks
        raise SourceError(f"context {info.name!r} uses the SOCKS proxy {cfg.proxy}, which needs PySocks: "
                          "pip install 'urllib3[socks]'") from None
    api.user_agent = "ktrace (read-only)"
    return api


_warned_insecure: set[str] = set()


def _warn_insecure(info: ContextInfo) -> None:
    """One line per context and process, instead of urllib3's warning block on every request."""
    from urllib3.exceptions import InsecureRequestWarning

    warnings.filterwarnings("ignore", category=InsecureRequestWarning)
    if info.name not in _warned_insecure:
        _warned_insecure.add(info.name)
        print(f"ktrace: warning: context {clean(repr(info.name))} skips TLS verification "
              f"(insecure-skip-tls-verify): the server at {clean(info.server)} is not authenticated", file=sys.stderr)


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0]
