"""``qwak.exceptions``: qwak-core's exception classes, with its constructors and messages.

One difference on purpose: ``str()`` of a :class:`QuietError` is the plain message, without
the terminal colour codes qwak-core adds (they garble build and server logs), and importing
this module does not replace ``sys.excepthook``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import ParseResult


class QuietError(Exception):
    def __init__(self, message: Any) -> None:
        self.message: Any = None

    def __str__(self) -> str:
        return f"{self.message}"


class QwakException(QuietError):
    def __init__(self, message: Any, status_code: Any = None) -> None:
        self.message = message
        self.status_code = status_code


class QwakGeneralBuildException(Exception):
    def __init__(self, message: str, src_exception: Exception | None = None) -> None:
        self._message = message
        self._exception_msg = str(src_exception) if src_exception else ""

    @property
    def message(self) -> str:
        return f"Message: {self._message}\nException message: {self._exception_msg}"

    def __str__(self) -> str:
        return self.message


class QwakGrpcAddressException(QwakException):
    def __init__(self, details: str, grpc_address: str | ParseResult) -> None:
        self.message = f"Not a valid gRPC address: '{grpc_address}'. Details: {details}"
        self.status_code = None


class MockHttpException(Exception):
    def __init__(self, status_code: Any, message: Any) -> None:
        self.status_code = status_code
        self.message = message


class QwakHTTPException(MockHttpException):
    """Raised in ``predict`` to answer the request with this status and message (4xx/5xx);
    auto's server does so, with the class name in the ``X-Exception-Class`` header."""

    def __init__(
        self,
        status_code: int,
        message: str | dict[str, Any],
        exception_class_name: str | None = None,
    ) -> None:
        super().__init__(status_code, message)
        self.exception_class_name = (
            exception_class_name if exception_class_name else type(self).__name__
        )

    def __str__(self) -> str:
        return f"{self.status_code}: {self.message}"


class QwakInferenceException(Exception):
    """Raise when there is an inference error"""


class LoadConfigurationException(Exception):
    pass


class QwakLoadModelFailedException(QuietError):
    """Raises when `load_model()` raises an exception"""

    def __init__(self, exception: Any) -> None:
        self.message = f"Failed to load model from load_model(), Error: {exception}"


class QwakLoginException(QuietError):
    def __init__(
        self, message: Any = "Failed to login to Qwak. Please check your credentials"
    ) -> None:
        self.message = message


class QwakModelInitializationException(RuntimeError):
    """Signals an error occurred when trying to initialize a qwak model at build time"""


class QwakNotFoundException(QwakException):
    def __init__(self, message: Any) -> None:
        self.message = message
        self.status_code = None


class QwakSuggestionException(Exception):
    def __init__(
        self,
        message: str,
        src_exception: Exception | None = None,
        suggestion: str | None = "",
    ) -> None:
        self._message = message
        self._src_exception = str(src_exception) if src_exception else ""
        self._suggestion = suggestion

    @property
    def message(self) -> str:
        if self._src_exception:
            return (
                f"Message: {self._message}.\nException message: {self._src_exception}.\n"
                f"Recommendation: {self._suggestion}."
            )
        return f"Message: {self._message}.\nRecommendation: {self._suggestion}."

    def __str__(self) -> str:
        return self.message


class QwakRemoteBuildFailedException(QwakSuggestionException):
    pass


__all__ = [
    "LoadConfigurationException",
    "MockHttpException",
    "QuietError",
    "QwakException",
    "QwakGeneralBuildException",
    "QwakGrpcAddressException",
    "QwakHTTPException",
    "QwakInferenceException",
    "QwakLoadModelFailedException",
    "QwakLoginException",
    "QwakModelInitializationException",
    "QwakNotFoundException",
    "QwakRemoteBuildFailedException",
    "QwakSuggestionException",
]
