"""Names that attack the terminal: 12 kinds of control sequence and invisible character, each with the
escape it must be shown as, and manifests that carry one of them in every kind of name and message.

Gateway API names (`ObjectName`) have no character pattern and `-f` files are not validated, so any
of these can reach ktrace from a real cluster or a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple


class Payload(NamedTuple):
    id: str
    raw: str  # what the name holds
    shown: str  # what must be drawn instead: visible escapes

    @property
    def hidden(self) -> set[str]:
        """The characters of `raw` that must never reach the output raw."""
        return {c for c in self.raw if not (c.isprintable() and c.isascii())}


PAYLOADS = [
    Payload("osc0-title", "\x1b]0;PWNED\x07", "\\x1b]0;PWNED\\x07"),
    Payload("osc52-clipboard", "\x1b]52;c;cm0gLXJmIH4=\x07", "\\x1b]52;c;cm0gLXJmIH4=\\x07"),
    Payload("osc8-link", "\x1b]8;;https:evil.example\x1b\\a\x1b]8;;\x1b\\",  # no "/": it is in file names
            "\\x1b]8;;https:evil.example\\x1b\\a\\x1b]8;;\\x1b\\"),
    Payload("csi-colour", "\x1b[31;1mred", "\\x1b[31;1mred"),
    Payload("csi-cursor", "\x1b[2A\x1b[2K", "\\x1b[2A\\x1b[2K"),
    Payload("cr", "ok\rfake", "ok\\rfake"),
    Payload("bs", "ab\x08\x08xy", "ab\\x08\\x08xy"),
    Payload("bel", "a\x07", "a\\x07"),
    Payload("del", "a\x7fb", "a\\x7fb"),
    Payload("c1-csi", "a\x9b31mb", "a\\x9b31mb"),
    Payload("bidi-override", "a\u202etxt.exe", "a\\u202etxt.exe"),
    Payload("zero-width-bom", "a\u200bb\ufeffc", "a\\u200bb\\ufeffc"),
]

HOST = "store.example.com"  # served by the HTTPRoute, split between `web` and `canary<payload>`
UNSERVED = "nothing.example.com"  # served by nothing: its closest hosts include `www<payload>.example.com`


def objects(p: str, host: str = HOST) -> list[dict]:
    """A Gateway, an HTTPRoute splitting `host` between `web` and `canary{p}`, their Services and pods,
    a Service `other{p}` to switch to, and an Ingress for `www{p}.example.com` with no class: `p` in a
    namespace, backendRef, Service, pod, label, listener, host and status message."""
    ns = f"shop{p}"
    meta = {"namespace": ns}

    def pod(name: str, app: str, ready: bool) -> dict:
        state = {"running": {}} if ready else {"waiting": {"reason": "CrashLoopBackOff", "message": f"boom {p}"}}
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "labels": {"app": app, "version": f"v{p}"}, **meta},
                "spec": {"nodeName": f"node{p}", "containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]},
                "status": {"phase": "Running", "podIP": "10.0.0.1" if ready else "10.0.0.2",
                           "conditions": [{"type": "Ready", "status": str(ready)}],
                           "containerStatuses": [{"name": "c", "ready": ready, "restartCount": 3, "state": state}]}}

    def service(name: str, app: str) -> dict:
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, **meta},
                "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]}}

    gw = "gateway.networking.k8s.io/v1"
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": gw, "kind": "GatewayClass", "metadata": {"name": "eg"},
         "spec": {"controllerName": "example.com/gateway"}},
        {"apiVersion": gw, "kind": "Gateway", "metadata": {"name": "public", **meta},
         "spec": {"gatewayClassName": "eg", "listeners": [{"name": f"http{p}", "protocol": "HTTP", "port": 80}]}},
        {"apiVersion": gw, "kind": "HTTPRoute", "metadata": {"name": f"store{p}", **meta},
         "spec": {"parentRefs": [{"name": "public"}], "hostnames": [host],
                  "rules": [{"backendRefs": [{"name": "web", "port": 80, "weight": 90},
                                             {"name": f"canary{p}", "port": 80, "weight": 10}]}]}},
        service("web", "web"), service(f"canary{p}", "canary"), service(f"other{p}", "web"),
        pod("web-1", "web", True), pod(f"canary-1{p}", "canary", False),
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": f"ing{p}", **meta},
         "spec": {"rules": [{"host": f"www{p}.example.com", "http": {"paths": [
             {"path": "/", "pathType": "Prefix",
              "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}},
        {"apiVersion": "example.com/v1", "kind": f"Widget{p}", "metadata": {"name": "w"}},  # skipped, by name
    ]


ALL = "".join(x.raw for x in PAYLOADS)  # every kind in one name
ALL_SHOWN = "".join(x.shown for x in PAYLOADS)


def write(directory: Path, p: str, host: str = HOST) -> Path:
    """`objects(p, host)` as a YAML stream (JSON documents, escapes spelled out) in `route{p}.yaml`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"route{p}.yaml"
    path.write_text("\n---\n".join(json.dumps(o) for o in objects(p, host)) + "\n")
    return path


def hidden_in(text: str) -> set[str]:
    """The characters of every payload that `text` holds raw."""
    return {c for x in PAYLOADS for c in x.hidden if c in text}
