"""``qwak.model.schema``: ``ModelSchema`` and the entity types, as in qwak-core.

auto keeps a model's schema for documentation; it does not enforce it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qwak import _auto_leftout
from qwak.model.schema_entities import (
    BaseFeature,
    Entity,
    ExplicitFeature,
    FeatureStoreInput,
    InferenceOutput,
    Prediction,
    RequestInput,
)

__all__ = [
    "BaseFeature",
    "Entity",
    "ExplicitFeature",
    "FeatureStoreInput",
    "InferenceOutput",
    "ModelSchema",
    "Prediction",
    "RequestInput",
]


class ModelSchema:
    def __init__(
        self,
        entities: Sequence[Entity] | None = None,
        inputs: Sequence[BaseFeature] | None = None,
        outputs: Sequence[InferenceOutput] | None = None,
        *,
        features: Sequence[BaseFeature] | None = None,
        predictions: Sequence[Any] | None = None,
    ) -> None:
        # Older SDKs (and qwak-core's own docstrings) spell the lists `features` and
        # `predictions`; they are accepted as keywords.
        self._entities: list[Entity] = list(entities or [])
        self._inputs: list[Any] = list(inputs or features or [])
        self._outputs: list[Any] = list(outputs or predictions or [])

    @property
    def inputs(self) -> list[Any]:
        return self._inputs

    @property
    def outputs(self) -> list[Any]:
        return self._outputs

    @property
    def entities(self) -> list[Entity]:
        return self._entities

    def to_dict(self) -> dict[str, Any]:
        def one(item: Any) -> dict[str, Any]:
            kind = getattr(item, "type", None)
            kind_name = getattr(kind, "__name__", None) or (None if kind is None else str(kind))
            return {"name": getattr(item, "name", str(item)), "type": kind_name}

        return {
            "inputs": [one(i) for i in self._inputs],
            "outputs": [one(o) for o in self._outputs],
        }


def __getattr__(name: str) -> Any:
    raise _auto_leftout.missing(__name__, name)
