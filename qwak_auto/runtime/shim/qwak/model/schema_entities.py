"""``qwak.model.schema_entities``: where newer SDKs keep the schema types."""

from __future__ import annotations

from qwak.model.schema import (  # type: ignore[import-not-found,unused-ignore]
    Entity,
    ExplicitFeature,
    FeatureStoreInput,
    InferenceOutput,
    Prediction,
    RequestInput,
)

__all__ = [
    "Entity",
    "ExplicitFeature",
    "FeatureStoreInput",
    "InferenceOutput",
    "Prediction",
    "RequestInput",
]
