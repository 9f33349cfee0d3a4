"""`record`: a frozen, slotted dataclass that is cheap to build.

A frozen dataclass's `__init__` must go around its own `__setattr__` (which refuses) and sets every
field through `object.__setattr__`: about 130 ns a field, most of the cost of building a record from an
API object. A `record` is built instead as a twin instance, a plain class with the same slots (plain
attribute stores, ~10 ns), which then takes the record's class: the layout is the same, so Python
allows it. Everything else is the dataclass's own: fields(), replace(), asdict(), ==, hash, repr, and
FrozenInstanceError on any assignment.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True)
def record(cls: type[T]) -> type[T]:
    if cls.__doc__ is None:  # else dataclass would read a signature from object's __init__, slowly
        cls.__doc__ = cls.__name__
    cls = dataclass(frozen=True, slots=True, init=False)(cls)  # __new__ below does __init__'s work
    if cls.__bases__ != (object,) or not all(f.init and not f.kw_only for f in fields(cls)):  # type: ignore[arg-type]
        raise TypeError(f"{cls.__name__}: a record derives from object only and takes every field in __init__")
    twin = type(f"{cls.__name__}Draft", (), {"__slots__": cls.__slots__})  # type: ignore[attr-defined]
    env: dict[str, Any] = {"_new": object.__new__, "_twin": twin, "_missing": MISSING}
    params, defaults = [], []
    for f in fields(cls):  # type: ignore[arg-type]
        if f.default is not MISSING:
            env[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not MISSING:
            env[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_missing")
            defaults.append(f"    if {f.name} is _missing:\n        {f.name} = _factory_{f.name}()\n")
        else:
            params.append(f.name)
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    source = (f"def __new__(_cls, {', '.join(params)}):\n{''.join(defaults)}    self = _new(_twin)\n"
              + "".join(f"    self.{n} = {n}\n" for n in names)
              + "    self.__class__ = _cls\n    return self\n")
    exec(source, env)  # code generated from the field names, as dataclasses does
    cls.__new__ = staticmethod(env["__new__"])  # type: ignore[assignment]
    cls.__init__ = object.__init__  # type: ignore[assignment,misc]

    def __reduce__(self: Any) -> tuple[type, tuple]:  # copy and pickle: through the constructor
        return type(self), tuple(getattr(self, n) for n in names)

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls
