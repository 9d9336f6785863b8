"""Nothing is unpickled unless this project wrote it: HMAC signatures of pickles.

Unpickling a file runs code chosen by whoever wrote it. Every joblib file the
project writes (fitted baselines, candidates, the final model, the package's
model and preprocessing) gets a signature beside it, ``<file>.sig``: an
HMAC-SHA256 of the file's bytes under a key kept outside the project tree, so
write access to the project's folders is not enough to forge one. Before a
file is unpickled its signature is checked; a missing or wrong one refuses the
file with a message naming it and the fix.

The key lives in ``$MODEL_TRAINING_KEY_FILE`` or, by default,
``~/.config/model_training/signing.key``, created on first use with 0600
permissions. To load packages on another machine (a serving host), copy the
key there and point ``MODEL_TRAINING_KEY_FILE`` at it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

import joblib

from model_training.lib.core.errors import UserFacingError

KEY_ENV = "MODEL_TRAINING_KEY_FILE"
SUFFIX = ".sig"


class UntrustedFileError(UserFacingError):
    """A file to unpickle has no valid signature of this project."""


def key_file() -> Path:
    """Where the signing key is kept."""
    configured = os.environ.get(KEY_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".config" / "model_training" / "signing.key"


def _key() -> bytes:
    path = key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    if path.stat().st_mode & 0o077:
        raise UntrustedFileError(
            f"{path}: the signing key is readable by other users; it was not used. "
            f"Fix: chmod 600 {path}"
        )
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def signature_of(path: Path) -> str:
    """The HMAC-SHA256 of a file's bytes under the project's key, hex."""
    mac = hmac.new(_key(), digestmod=hashlib.sha256)
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            mac.update(block)
    return mac.hexdigest()


def sign(path: Path) -> None:
    """Write ``<path>.sig`` for a file this project just wrote."""
    Path(f"{path}{SUFFIX}").write_text(signature_of(path) + "\n", encoding="ascii")


def verify(path: Path, what: str = "file") -> None:
    """Refuse ``path`` unless its signature matches; call before unpickling it."""
    path = Path(path)
    sig = Path(f"{path}{SUFFIX}")
    fix = (
        "it was not written by this project with this machine's key, or it was "
        "changed afterwards, so it was not unpickled (unpickling runs code). "
        "Fix: rerun the pipeline that writes it (e.g. `uv run kedro run`); to load "
        f"a package on another machine, set {KEY_ENV} to a copy of {key_file()}"
    )
    if not sig.is_file():
        raise UntrustedFileError(
            f"{path}: the {what} has no signature ({sig.name}); {fix}"
        )
    expected = sig.read_text(encoding="ascii", errors="replace").strip()
    if not hmac.compare_digest(expected, signature_of(path)):
        raise UntrustedFileError(
            f"{path}: the {what}'s signature does not match its content; {fix}"
        )


def dump(value: Any, path: Path) -> None:
    """``joblib.dump`` then sign."""
    joblib.dump(value, path)
    sign(path)


def load(path: Path, what: str = "file") -> Any:
    """Verify the signature, then ``joblib.load``."""
    verify(path, what)
    return joblib.load(path)
