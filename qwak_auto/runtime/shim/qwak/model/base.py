"""``QwakModel``: Qwak's model base class, on top of auto's :class:`qwak_auto.runtime.Model`."""

from __future__ import annotations

from qwak.model.schema import ModelSchema
from qwak_auto.runtime import Model

__all__ = ["ModelSchema", "QwakModel"]


class QwakModel(Model):
    """Subclass it and implement ``build()`` and ``predict(df)`` as in Qwak."""

    def build(self) -> None:
        raise ValueError("Please implement build method")

    def predict(self, df):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201 - qwak-core's
        raise ValueError("Please implement predict method")

    def initialize_model(self):  # type: ignore[no-untyped-def]  # noqa: ANN201 - qwak-core's
        pass

    def schema(self) -> ModelSchema | None:
        return None  # qwak-core's default: no schema


# Older SDK versions named the base class QwakModelInterface.
QwakModelInterface = QwakModel
