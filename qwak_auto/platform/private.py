"""The home is private: ``AUTO_HOME`` is 0700 and everything auto writes in it 0600 (issue 14).

The home holds the state store, the analytics store, prediction logs (request features),
build logs and artifacts, the proxy's admin socket: nothing another local user should read.
Every auto process that lives long or writes there (the CLI and so the runner, the model
server, the credentials and shadow processes) sets the umask once at start-up, so every
file and folder it or its children create is its owner's alone; the home itself is made
0700 whatever the umask. A home that exists with wider modes (made by an older auto, or
by hand) is left as it is, with a warning that gives the ``chmod`` that fixes it.

Standard library only: the model server imports this in the build environment.
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

UMASK = 0o077


def restrict_umask() -> None:
    """Files and folders made from now on, by this process and its children, are private."""
    os.umask(UMASK)


def ensure_home(home: Path) -> str | None:
    """Make ``home`` 0700 when it does not exist yet; a warning (what is wrong and the
    command that fixes it) when it exists and others may read or enter it, else None."""
    try:
        home.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    except OSError:
        return None  # not ours to make here (read-only folder): the step that writes says so
    else:
        home.chmod(0o700)  # mkdir's mode is masked by the umask; this one is exact
        return None
    try:
        mode = stat.S_IMODE(home.stat().st_mode)
    except OSError:
        return None
    if not mode & 0o077:
        return None
    where = shlex.quote(str(home))
    return (
        f"the auto home {home} is open to other users (mode {mode:04o}): it holds the "
        f"state, prediction logs and build logs; make it private with: chmod -R go-rwx {where}"
    )
