"""``QwakModel``: Qwak's model base class, on top of auto's :class:`qwak_auto.runtime.Model`."""

from __future__ import annotations

from qwak_auto.runtime import Model


class QwakModel(Model):
    """Subclass it and implement ``build()`` and ``predict(df)`` as in Qwak."""


# Older SDK versions named the base class QwakModelInterface.
QwakModelInterface = QwakModel
