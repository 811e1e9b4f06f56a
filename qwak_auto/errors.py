"""The expected failures. Each carries a message and a hint on how to fix it.

Only ``qwak_auto.cli`` turns these into exit codes; everything else raises them.
"""

from __future__ import annotations


class AutoError(Exception):
    """An expected failure with a message a user can act on."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class SpecError(AutoError):
    pass


class ConfigError(AutoError):
    exit_code = 2


class UsageError(AutoError):
    exit_code = 2


class StateError(AutoError):
    pass


class SourceError(AutoError):
    pass


class BuildError(AutoError):
    pass


class ConditionError(AutoError):
    pass


class DeployError(AutoError):
    pass


class RolledBack(DeployError):
    """A new build breached a limit on live traffic and its deployer rolled it back: the
    builds that served before serve again. The run ends ``rolled_back``."""


class BackendError(AutoError):
    pass


class NotifyError(AutoError):
    pass


class ProcError(AutoError):
    """A program failed. Carries the redacted argv, exit status and the tail of stderr."""

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        argv: tuple[str, ...] = (),
        returncode: int | None = None,
        stdout: str = "",
        stderr: str = "",
    ) -> None:
        super().__init__(message, hint)
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
