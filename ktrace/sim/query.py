"""List and watch parameters as the API server reads them: media type negotiation, label and
field selectors, and opaque continue tokens."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from ktrace import selectors
from ktrace.sim.state import ApiError, expired

# response forms
JSON, TABLE, METADATA = "json", "table", "metadata"

_FIELDS_ALL = ("metadata.name", "metadata.namespace")
_FIELDS_BY_KIND = {
    "Pod": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"),
    "Secret": ("type",),
    "Namespace": ("status.phase",),
    "ReplicaSet": ("status.replicas",),
}


@dataclass(frozen=True, slots=True)
class MediaType:
    form: str  # JSON, TABLE or METADATA
    version: str = "v1"  # meta.k8s.io version of Table / PartialObjectMetadata


def negotiate(accept: str | None) -> MediaType:
    """Pick the first media type in Accept that we serve; as the API server, answer
    406 when none is acceptable (aggregated discovery alone, protobuf alone)."""
    if not accept or not accept.strip():
        return MediaType(JSON)
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        mime, params = fields[0].lower(), dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        if mime not in ("application/json", "application/*", "*/*"):
            continue
        as_ = params.get("as")
        if as_ is None:
            return MediaType(JSON)
        if params.get("g") != "meta.k8s.io" or params.get("v", "v1") not in ("v1", "v1beta1"):
            continue
        if as_ == "Table":
            return MediaType(TABLE, params.get("v", "v1"))
        if as_ in ("PartialObjectMetadataList", "PartialObjectMetadata"):
            return MediaType(METADATA, params.get("v", "v1"))
    raise ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json, "
                   "application/json;as=Table;v=v1;g=meta.k8s.io, "
                   "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io")


def label_selector(text: str | None) -> selectors.Selector:
    try:
        return selectors.parse(text or "")
    except selectors.SelectorError as e:
        raise ApiError(400, "BadRequest", f"unable to parse requirement: {e}") from None


FieldSelector = tuple[tuple[str, bool, str], ...]  # (field, equal?, value)


def field_selector(kind: str, text: str | None) -> FieldSelector:
    if not text:
        return ()
    allowed = _FIELDS_ALL + _FIELDS_BY_KIND.get(kind, ())
    out = []
    for term in text.split(","):
        term = term.strip()
        if not term:
            continue
        if "!=" in term:
            field, value = term.split("!=", 1)
            equal = False
        elif "==" in term:
            field, value = term.split("==", 1)
            equal = True
        elif "=" in term:
            field, value = term.split("=", 1)
            equal = True
        else:
            raise ApiError(400, "BadRequest", f"invalid selector: '{text}'; can't understand '{term}'")
        field = field.strip()
        if field not in allowed:
            raise ApiError(400, "BadRequest", f"field label not supported: {field}")
        out.append((field, equal, value.strip()))
    return tuple(out)


def _field_value(obj: dict, field: str) -> str:
    value: object = obj
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fields_match(selector: FieldSelector, obj: dict) -> bool:
    return all((_field_value(obj, f) == v) == equal for f, equal, v in selector)


def matcher(namespace: str | None, labels: selectors.Selector, fields: FieldSelector) -> Callable[[dict], bool]:
    def match(obj: dict) -> bool:
        meta = obj["metadata"]
        if namespace is not None and meta.get("namespace") != namespace:
            return False
        if labels and not selectors.matches(labels, meta.get("labels")):
            return False
        return not fields or fields_match(fields, obj)

    return match


def encode_continue(rv: int, namespace: str, name: str) -> str:
    token = {"v": "meta.k8s.io/v1", "rv": rv, "start": f"{namespace}/{name}\x00"}
    return base64.urlsafe_b64encode(orjson.dumps(token)).decode().rstrip("=")


def decode_continue(token: str, floor: int) -> tuple[int, tuple[str, str]]:
    """(resourceVersion, (namespace, name) to continue after). 410 when compaction has
    passed the token's resourceVersion, as etcd does."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        rv = int(data["rv"])
        ns, name = data["start"].rstrip("\x00").split("/", 1)
    except (ValueError, KeyError, TypeError, AttributeError, orjson.JSONDecodeError):
        raise ApiError(400, "BadRequest", "continue key is not valid: incorrect encoded start resourceVersion "
                       "(version meta.k8s.io/v1)") from None
    if rv < floor:
        raise expired("The provided continue parameter is too old to display a consistent list result. You can "
                      "start a new list without the continue parameter, or use the continue token in this "
                      "response to retrieve the remainder of the results. Continuing with the provided token "
                      "results in an inconsistent list - objects that were created, modified, or deleted "
                      "between the time the first chunk was returned and now may show up in the list.")
    return rv, (ns, name)
