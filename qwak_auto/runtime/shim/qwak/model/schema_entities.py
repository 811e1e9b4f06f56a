"""``qwak.model.schema_entities``: the schema's building blocks, as qwak-core defines them.

auto keeps a model's schema for documentation (``ModelSchema.to_dict()``); it does not
enforce it, and Qwak's protobuf form (``to_proto()``) is left out.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass
from typing import Any

from qwak import _auto_leftout

__all__ = [
    "BaseFeature",
    "Entity",
    "ExplicitFeature",
    "FeatureStoreInput",
    "InferenceOutput",
    "Prediction",
    "RequestInput",
]


@dataclass(unsafe_hash=True)
class Entity:
    name: str
    type: Any = str


@dataclass
class BaseFeature(ABC):  # qwak-core's abstract base (its only abstract method is to_proto)
    name: str


@dataclass(unsafe_hash=True)
class ExplicitFeature(BaseFeature):
    type: Any


@dataclass(unsafe_hash=True)
class RequestInput(BaseFeature):
    type: Any


@dataclass(unsafe_hash=True)
class FeatureStoreInput(BaseFeature):
    entity: Entity | None = None


@dataclass(unsafe_hash=True)
class InferenceOutput:
    name: str
    type: Any


@dataclass(unsafe_hash=True)
class Prediction:
    name: str
    type: Any


def __getattr__(name: str) -> Any:
    raise _auto_leftout.missing(__name__, name)
