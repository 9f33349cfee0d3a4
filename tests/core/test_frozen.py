"""`record` (ktrace.frozen): built cheaply, yet the same frozen, slotted dataclass from the outside."""

import copy
import dataclasses
import pickle

import pytest

from ktrace.frozen import record
from ktrace.model import Condition, ContainerPort, Meta


@record
class Sample:
    name: str
    port: int = 80
    labels: dict = dataclasses.field(default_factory=dict)


def test_assignment_and_deletion_are_refused() -> None:
    s = Sample("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "b"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del s.port
    with pytest.raises(AttributeError):  # slotted: no attribute beyond the fields
        object.__setattr__(s, "extra", 1)
    assert s.name == "a" and type(s) is Sample


def test_arguments_defaults_and_factories_as_a_dataclass_takes_them() -> None:
    assert Sample("a", 81) == Sample(name="a", port=81) == Sample("a", port=81, labels={})
    assert Sample("a").port == 80
    assert Sample("a").labels is not Sample("a").labels  # a fresh dict each, as default_factory promises
    with pytest.raises(TypeError):
        Sample()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Sample("a", 1, {}, 2)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Sample("a", nope=1)  # type: ignore[call-arg]


def test_equality_and_hash_by_value_and_class() -> None:
    assert Condition("Ready", "True") == Condition("Ready", "True")
    assert hash(Condition("Ready", "True")) == hash(Condition("Ready", "True", "", ""))
    assert Condition("Ready", "True") != Condition("Ready", "False")
    assert ContainerPort("http", 80) != ("http", 80, "TCP")
    assert len({Condition("Ready", "True"), Condition("Ready", "True"), Condition("PodScheduled", "True")}) == 2


def test_dataclass_helpers_and_copies() -> None:
    meta = Meta("Pod", "default", "web", labels={"app": "web"}, owners=(("ReplicaSet", "web-1"),))
    assert [f.name for f in dataclasses.fields(meta)][:3] == ["kind", "namespace", "name"]
    assert dataclasses.replace(meta, name="api") == Meta("Pod", "default", "api", labels={"app": "web"},
                                                         owners=(("ReplicaSet", "web-1"),))
    assert dataclasses.asdict(meta)["labels"] == {"app": "web"}
    assert copy.copy(meta) == meta and copy.deepcopy(meta) == meta
    assert pickle.loads(pickle.dumps(meta)) == meta
    assert repr(Condition("Ready", "True")) == "Condition(type='Ready', status='True', reason='', message='')"


def test_only_a_class_of_its_own_can_be_a_record() -> None:
    """The instance is built as a twin with the same slots: a base class would change the layout."""
    class Base:
        pass

    with pytest.raises(TypeError):
        record(type("Derived", (Base,), {"__annotations__": {"x": int}}))
