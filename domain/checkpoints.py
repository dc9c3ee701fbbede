"""Signed checkpoints: the C2SP tlog-checkpoint text, signed as a C2SP signed note with Ed25519.

A checkpoint (https://c2sp.org/tlog-checkpoint) is three lines: the log's *origin* (its
name), the tree size in decimal, and the root hash in standard base64::

    treaty-ledger.example/ledger
    1042
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

A signed note (https://c2sp.org/signed-note) is that text, a blank line, and one line per
signature: an em dash, a space, the key's name, a space, and the base64 of the key's 4-byte
id followed by the 64-byte Ed25519 signature of the text. A key's id is the first four bytes
of ``SHA-256(name || "\\n" || 0x01 || public key)``; it is written as a *verifier key*
``name+hexid+base64(0x01 || public key)`` (what the API publishes and a client keeps) and,
secretly, as a *signer key* ``PRIVATE+KEY+name+hexid+base64(0x01 || seed)`` (what
``treaty-ledger keys signing create`` writes). These are the encodings of Go's
``golang.org/x/mod/sumdb/note``, so the notes check with its tools as well as with
:func:`open_checkpoint`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from treaty_ledger.domain.errors import BadCheckpoint, BadKey

__all__ = [
    "Checkpoint",
    "NoteSigner",
    "NoteVerifier",
    "open_checkpoint",
    "open_note",
]

_ED25519 = b"\x01"
"""The signature type byte of Ed25519 in key ids and keys."""
_DASH = "\u2014 "
_NAME = re.compile(r"[^\s+]+")


def _key_id(name: str, public: bytes) -> int:
    return int.from_bytes(hashlib.sha256(name.encode() + b"\n" + _ED25519 + public).digest()[:4], "big")


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise BadKey(f"a key name is non-empty text without spaces or '+'; got {name!r}", field="name")
    return name


def _decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadKey(f"the {what} is not base64", field="key") from None


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A public Ed25519 key of the signed-note encoding: checks signatures made by its :class:`NoteSigner`."""

    name: str
    key_id: int
    public: bytes

    @classmethod
    def parse(cls, text: str) -> NoteVerifier:
        """A verifier from its encoding ``name+hexid+base64(0x01 || key)``; :class:`BadKey` when it is not one."""
        parts = text.strip().split("+", 2)  # the base64 may hold '+' too
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise BadKey("a verifier key reads name+hexid+base64key (as GET /v1/checkpoints/key gives it)", field="key")
        name, raw = _check_name(parts[0]), _decode(parts[2], "verifier key")
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise BadKey("the verifier key is not an Ed25519 key (type 0x01, 32 bytes)", field="key")
        verifier = cls(name, int(parts[1], 16), raw[1:])
        if _key_id(name, verifier.public) != verifier.key_id:
            raise BadKey(f"the key id {parts[1]} does not match the key and its name", field="key")
        return verifier

    def encoded(self) -> str:
        """``name+hexid+base64(0x01 || key)``."""
        return f"{self.name}+{self.key_id:08x}+{base64.b64encode(_ED25519 + self.public).decode()}"

    def verifies(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (64 bytes) is this key's signature of ``text``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text)
        except InvalidSignature:
            return False
        return True


@functools.lru_cache(maxsize=8)
def _private_key(seed: bytes) -> Ed25519PrivateKey:
    """The key object of ``seed``, made once (a checkpoint is signed with each write)."""
    return Ed25519PrivateKey.from_private_bytes(seed)


@functools.lru_cache(maxsize=8)
def _verifier(name: str, seed: bytes) -> NoteVerifier:
    public = _private_key(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return NoteVerifier(name, _key_id(name, public), public)


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """A private Ed25519 key of the signed-note encoding, and its name."""

    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A new random key named ``name`` (by convention the log's origin)."""
        private = Ed25519PrivateKey.generate()
        return cls(_check_name(name), private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    @classmethod
    def parse(cls, text: str) -> NoteSigner:
        """A signer from its encoding ``PRIVATE+KEY+name+hexid+base64(0x01 || seed)``; :class:`BadKey` otherwise."""
        parts = text.strip().split("+", 4)  # the base64 may hold '+' too
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not re.fullmatch(r"[0-9a-f]{8}", parts[3]):
            raise BadKey("a signing key reads PRIVATE+KEY+name+hexid+base64key (as treaty-ledger keys signing create writes it)", field="key")
        name, raw = _check_name(parts[2]), _decode(parts[4], "signing key")
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise BadKey("the signing key is not an Ed25519 key (type 0x01, 32 bytes)", field="key")
        signer = cls(name, raw[1:])
        if signer.verifier.key_id != int(parts[3], 16):
            raise BadKey(f"the key id {parts[3]} does not match the key and its name", field="key")
        return signer

    def _private(self) -> Ed25519PrivateKey:
        return _private_key(self.seed)

    @property
    def verifier(self) -> NoteVerifier:
        """The public half."""
        return _verifier(self.name, self.seed)

    def encoded(self) -> str:
        """``PRIVATE+KEY+name+hexid+base64(0x01 || seed)``: keep it secret."""
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id:08x}+{base64.b64encode(_ED25519 + self.seed).decode()}"

    def sign(self, text: str) -> str:
        """The signed note of ``text`` (which ends with a newline): the text, a blank line, this key's signature line."""
        if not text.endswith("\n"):
            raise ValueError("a note's text ends with a newline")
        signature = self._private().sign(text.encode())
        blob = self.verifier.key_id.to_bytes(4, "big") + signature
        return f"{text}\n{_DASH}{self.name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree size and root hash, under a log's origin."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        """The checkpoint's lines, as signed."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    def signed(self, signer: NoteSigner) -> str:
        """The checkpoint as a signed note."""
        return signer.sign(self.text())


def open_note(note: str, verifier: NoteVerifier) -> str:
    """The text of signed note ``note``, once ``verifier``'s signature of it checks; :class:`BadCheckpoint` otherwise.

    The text ends at the note's last blank line. Signatures by other keys are ignored, as
    the signed-note format says; one by this key that does not check fails the note.
    """
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not text or not signatures.endswith("\n"):
        raise BadCheckpoint("a signed note is its text, a blank line, then signature lines, each ending in a newline", field="checkpoint")
    body = text + "\n"
    for line in signatures[:-1].split("\n"):
        if not line.startswith(_DASH) or " " not in line[len(_DASH):]:
            raise BadCheckpoint(f"{line!r} is not a signature line ('\u2014 name base64')", field="checkpoint.signature")
        key_name, blob_text = line[len(_DASH):].split(" ", 1)
        try:
            blob = base64.b64decode(blob_text, validate=True)
        except (binascii.Error, ValueError):
            continue
        if key_name != verifier.name or len(blob) != 68 or int.from_bytes(blob[:4], "big") != verifier.key_id:
            continue
        if not verifier.verifies(body.encode(), blob[4:]):
            raise BadCheckpoint(f"the signature of {verifier.name} does not check: the note was altered or not signed by this key",
                                field="checkpoint.signature")
        return body
    raise BadCheckpoint(f"the note carries no signature by {verifier.name} (key id {verifier.key_id:08x})", field="checkpoint.signature")


def open_checkpoint(note: str, verifier: NoteVerifier, *, origin: str | None = None) -> Checkpoint:
    """The checkpoint a signed note holds, once ``verifier``'s signature of it checks (:func:`open_note`).

    :class:`BadCheckpoint` names what is wrong: the note's shape, its lines, the origin
    (when ``origin`` is given), or the signature.
    """
    lines = open_note(note, verifier).split("\n")[:-1]
    if len(lines) < 3 or not all(lines):
        raise BadCheckpoint("a checkpoint's text has an origin, a tree size and a root hash, one per line, none empty", field="checkpoint")
    name, size_text, root_text = lines[:3]
    if origin is not None and name != origin:
        raise BadCheckpoint(f"the checkpoint is of log {name!r}, not {origin!r}", field="checkpoint.origin")
    if not size_text.isascii() or not size_text.isdigit() or (size_text.startswith("0") and size_text != "0"):
        raise BadCheckpoint(f"the tree size {size_text!r} is not a decimal number without leading zeros", field="checkpoint.size")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError):
        root = b""
    if len(root) != 32:
        raise BadCheckpoint("the root hash is not the base64 of 32 bytes", field="checkpoint.root")
    return Checkpoint(name, int(size_text), root)
