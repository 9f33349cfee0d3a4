"""PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch treated as a merge patch
(maps merge, lists are replaced; enough for `kubectl label/annotate/patch`), and JSON patch."""

from __future__ import annotations

from ktrace.sim.state import ApiError

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
SUPPORTED = (MERGE, STRATEGIC, JSON_PATCH)


def merge(target: object, patch: object, strategic: bool = False) -> object:
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if strategic and key.startswith("$"):  # directives like $setElementOrder: order hints only
            continue
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value, strategic)
    return out


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ApiError(422, "Invalid", f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: object, parts: list[str]) -> object:
    for part in parts[:-1]:
        if isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: "
                           f"path element {part!r} not found")
    return doc


def json_patch(doc: dict, ops: object) -> dict:
    if not isinstance(ops, list):
        raise ApiError(400, "BadRequest", "json patch must be a list of operations")
    for op in ops:
        if not isinstance(op, dict) or "path" not in op:
            raise ApiError(400, "BadRequest", f"invalid json patch operation {op!r}")
        parts = _pointer(op["path"])
        parent = _parent(doc, parts)
        last = parts[-1]
        kind = op.get("op")
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last) if last.isdigit() else -1
            if kind == "add" and 0 <= index <= len(parent):
                parent.insert(index, op.get("value"))
            elif kind == "replace" and 0 <= index < len(parent):
                parent[index] = op.get("value")
            elif kind == "remove" and 0 <= index < len(parent):
                parent.pop(index)
            elif kind == "test" and 0 <= index < len(parent) and parent[index] == op.get("value"):
                pass
            else:
                raise ApiError(422, "Invalid", f"json patch {kind} failed at {op['path']}")
        elif isinstance(parent, dict):
            if kind in ("add", "replace") and (kind == "add" or last in parent):
                parent[last] = op.get("value")
            elif kind == "remove" and last in parent:
                del parent[last]
            elif kind == "test" and parent.get(last) == op.get("value"):
                pass
            else:
                raise ApiError(422, "Invalid", f"json patch {kind} failed at {op['path']}")
        else:
            raise ApiError(422, "Invalid", f"json patch {kind} failed at {op['path']}")
    return doc


def apply_patch(doc: dict, patch: object, content_type: str) -> dict:
    if content_type == JSON_PATCH:
        return json_patch(doc, patch)
    if content_type in (MERGE, STRATEGIC):
        if not isinstance(patch, dict):
            raise ApiError(400, "BadRequest", "a merge patch must be a JSON object")
        return merge(doc, patch, strategic=content_type == STRATEGIC)  # type: ignore[return-value]
    raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                   f"accepted media types include: {', '.join(SUPPORTED)}")
