"""Where the checkpoints' signing key comes from: never the database.

In order: ``TREATY_LEDGER_SIGNING_KEY`` (the signer key itself, as a deployment's secret
store provides it), ``TREATY_LEDGER_SIGNING_KEY_FILE`` (a file holding it), else the file
``treaty-ledger keys signing create`` writes by default, ``signing-key`` in the user's
configuration folder (``$XDG_CONFIG_HOME/treaty-ledger``, or ``~/.config/treaty-ledger``).
With none of them the tree still grows and proofs are served, but no checkpoint is signed.

The key's name is the log's *origin*, the first line of every checkpoint: by convention a
name for this ledger that no other log uses, such as ``ledger.example.org/treaties``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from treaty_ledger.domain.checkpoints import NoteSigner
from treaty_ledger.domain.errors import BadKey

__all__ = ["DEFAULT_ORIGIN", "config_folder", "default_key_path", "kept_checkpoint_path", "load_signer", "write_signer"]

DEFAULT_ORIGIN = "treaty-ledger.local/ledger"
"""The key name ``keys signing create`` suggests (and the demo uses): name yours after your deployment."""


def config_folder(environ: Mapping[str, str] | None = None) -> Path:
    """The user's configuration folder for the ledger: ``$XDG_CONFIG_HOME/treaty-ledger`` or ``~/.config/treaty-ledger``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "treaty-ledger"


def default_key_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where ``keys signing create`` writes the key by default, and where it is looked for last."""
    return config_folder(environ) / "signing-key"


def kept_checkpoint_path(origin: str, database: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where ``verify`` keeps the last checkpoint it checked of log ``origin`` in store ``database`` (its URL, without password)."""
    name = hashlib.sha256(f"{origin}\n{database}".encode()).hexdigest()[:16]
    return config_folder(environ) / "checkpoints" / f"{name}.note"


def load_signer(environ: Mapping[str, str] | None = None) -> NoteSigner | None:
    """The signing key the environment names (see the module's text), or ``None`` when there is none.

    :class:`~treaty_ledger.domain.errors.BadKey` when a key is named but is not one, naming
    where it came from: a deployment with a broken key must not start and sign nothing.
    """
    env = os.environ if environ is None else environ
    text = env.get("TREATY_LEDGER_SIGNING_KEY", "").strip()
    where = "TREATY_LEDGER_SIGNING_KEY"
    if not text:
        named = env.get("TREATY_LEDGER_SIGNING_KEY_FILE", "").strip()
        path = Path(named) if named else default_key_path(env)
        where = str(path)
        if not path.exists():
            if named:
                raise BadKey(f"TREATY_LEDGER_SIGNING_KEY_FILE names {path}, which does not exist", field="TREATY_LEDGER_SIGNING_KEY_FILE")
            return None
        text = path.read_text(encoding="utf-8").strip()
    try:
        return NoteSigner.parse(text)
    except BadKey as error:
        raise BadKey(f"the signing key in {where} is not one: {error.reason}", field=where) from None


def write_signer(signer: NoteSigner, path: Path) -> None:
    """Write ``signer`` to a new file at ``path`` that only its owner may read; never over an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(signer.encoded() + "\n")
