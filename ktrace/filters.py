"""What an HTTPRoute filter does to a traced request, as the Gateway API defines it.

- RequestRedirect answers the client itself: statusCode (302 unless set) and a Location built from
  the request: the scheme, hostname and path of the request unless the filter sets them; the port is
  the filter's, else the well-known port of a scheme the filter sets, else the listener's; port 80
  for http and 443 for https are left out of the Location.
- URLRewrite, the header modifiers and RequestMirror change what is forwarded, never where.
- ExtensionRef and filters of other types are the implementation's: named, not evaluated.
- The API's validation rejects RequestRedirect with URLRewrite, a repeated filter (other than
  RequestMirror and ExtensionRef), a rule-level RequestRedirect with backendRefs, and ReplacePrefixMatch
  on a rule without exactly one PathPrefix match.
"""

from __future__ import annotations

from collections import Counter

from ktrace.model import FILTER_TYPES, Listener, PathModifier, RouteFilter, RouteMatch, RouteRule

WELL_KNOWN_PORTS = {"http": 80, "https": 443}
REPEATABLE = ("RequestMirror", "ExtensionRef")


def modified_path(m: PathModifier | None, path: str, match: RouteMatch) -> str:
    """The request path after a redirect's or rewrite's path modifier. ReplacePrefixMatch replaces the
    matched prefix (whole path elements, trailing `/` ignored): /foo/bar by /foo -> /xyz is /xyz/bar."""
    if m is None:
        return path
    if m.type == "ReplaceFullPath":
        return m.value
    if m.type == "ReplacePrefixMatch" and match.path_type == "PathPrefix":
        rest = path[len(match.path.rstrip("/")):]  # "" or "/...": the match took whole path elements
        return (m.value.rstrip("/") + rest) or "/"
    return path


def location(f: RouteFilter, listener: Listener, host: str, path: str, match: RouteMatch) -> str:
    """The Location header a RequestRedirect answers with, for a request to `host` and `path`."""
    scheme = f.scheme or ("https" if listener.protocol == "HTTPS" else "http")
    port = f.port or (WELL_KNOWN_PORTS.get(f.scheme) if f.scheme else listener.port)
    authority = f.hostname or host
    if port is not None and WELL_KNOWN_PORTS.get(scheme) != port:
        authority += f":{port}"
    return f"{scheme}://{authority}{modified_path(f.path, path, match)}"


def describe(f: RouteFilter, listener: Listener, host: str, path: str, match: RouteMatch) -> str:
    """One filter in words, as a hop's reason (a mirror's backend is resolved by the tracer)."""
    if f.type == "RequestRedirect":
        return f"RequestRedirect: {f.status_code} redirect to {location(f, listener, host, path, match)}"
    if f.type == "URLRewrite":
        bits = ([f"Host {f.hostname}"] if f.hostname else []) + \
            ([f"path {modified_path(f.path, path, match)}"] if f.path is not None else [])
        return f"URLRewrite: forwarded with {', '.join(bits)}" if bits else "URLRewrite: nothing rewritten"
    if f.type in ("RequestHeaderModifier", "ResponseHeaderModifier"):
        return f"{f.type}: {', '.join(f.headers) or 'no change'}"
    if f.type == "RequestMirror" and f.mirror is not None:
        return f"RequestMirror: a copy of {f.mirrored:.0%} of the requests to {f.mirror.kind} " \
               f"{f.mirror.namespace}/{f.mirror.label()} (its answers are ignored)"
    if f.type == "ExtensionRef":
        return f"ExtensionRef {f.extension}: the implementation's own filter, not evaluated"
    return f"{f.type or 'filter without type'}: not evaluated"


def conflicts(filters: tuple[RouteFilter, ...]) -> list[str]:
    """What the API's validation rejects in one list of filters (a rule's or a backendRef's)."""
    types = Counter(f.type for f in filters)
    out = ["RequestRedirect together with URLRewrite"] if types["RequestRedirect"] and types["URLRewrite"] else []
    return out + [f"{t} repeated" for t, n in types.items() if n > 1 and t not in REPEATABLE]


def rule_conflicts(rule: RouteRule, kind: str = "HTTPRoute") -> list[str]:
    """What the API's validation rejects in a rule's filters, its backendRefs' filters included; for a kind with
    filter types of its own (GRPCRoute), a filter of another type."""
    out = conflicts(rule.filters)
    allowed = FILTER_TYPES.get(kind)
    if allowed is not None:
        out += [f"{f.type or 'filter without type'} is not a {kind} filter (only {', '.join(allowed)})"
                for f in (*rule.filters, *(f for b in rule.backends for f in b.filters)) if f.type not in allowed]
    if rule.redirect is not None and rule.backends:
        out.append("RequestRedirect together with backendRefs")
    out += [f"backendRef {b.label()}: {c}" for b in rule.backends for c in conflicts(b.filters)]
    prefix_filters = [f for f in (*rule.filters, *(f for b in rule.backends for f in b.filters))
                      if f.path is not None and f.path.type == "ReplacePrefixMatch"]
    if prefix_filters and not (len(rule.matches) == 1 and rule.matches[0].path_type == "PathPrefix"):
        out.append(f"{prefix_filters[0].type} with ReplacePrefixMatch needs exactly one PathPrefix match")
    return out
