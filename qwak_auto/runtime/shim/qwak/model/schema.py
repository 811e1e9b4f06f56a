"""Schema types of the Qwak SDK. auto keeps them for documentation; it does not enforce them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class ExplicitFeature:
    name: str
    type: Any = None


@dataclass
class RequestInput:
    name: str
    type: Any = None


@dataclass
class Entity:
    name: str
    type: Any = None


@dataclass
class FeatureStoreInput:
    name: str
    entity: Any = None


@dataclass
class InferenceOutput:
    name: str
    type: Any = None


Prediction = InferenceOutput


class ModelSchema:
    def __init__(
        self,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        entities: Sequence[Any] | None = None,
        features: Sequence[Any] | None = None,
        predictions: Sequence[Any] | None = None,
    ) -> None:
        # Older SDKs spell the same lists `features` and `predictions`.
        self.inputs: list[Any] = list(inputs or features or [])
        self.outputs: list[Any] = list(outputs or predictions or [])
        self.entities: list[Any] = list(entities or [])

    def to_dict(self) -> dict[str, Any]:
        def one(item: Any) -> dict[str, Any]:
            kind = getattr(item, "type", None)
            kind_name = getattr(kind, "__name__", None) or (None if kind is None else str(kind))
            return {"name": getattr(item, "name", str(item)), "type": kind_name}

        return {
            "inputs": [one(i) for i in self.inputs],
            "outputs": [one(o) for o in self.outputs],
        }
