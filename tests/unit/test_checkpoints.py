"""Signed notes and checkpoints against the published vectors of Go's ``golang.org/x/mod/sumdb/note`` and transparency-dev/formats."""

from __future__ import annotations

import pytest

from treaty_ledger.domain.checkpoints import Checkpoint, NoteSigner, NoteVerifier, open_checkpoint, open_note
from treaty_ledger.domain.errors import BadCheckpoint, BadKey

# golang/mod sumdb/note/note_test.go
PETER_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_VERIFIER = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
ENOCH_SIG = "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

# transparency-dev/formats log/note_test.go: a checkpoint of sum.golang.org
SUMDB_VERIFIER = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_CHECKPOINT = (
    "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n"
    "\u2014 sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n"
)
# transparency-dev/tessera's test key, and a checkpoint it signed (warpfork/spicytool spicy/parse_test.go)
TESSERA_VERIFIER = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"
TESSERA_SIGNER = "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg"
TESSERA_CHECKPOINT = (
    "example.com/log/testdata\n100270\nGRV1O0dCqmjjPvYi7CtOT79zb/fPwLNsMFWsynwU8Ac=\n\n"
    "\u2014 example.com/log/testdata M9e0lkcvy5bAe7rrC8tCyAP+my+CLzswA91zOpBNWVU7qCojkUOHnfdQzDImoYeYH8G8PJSwOqsx0RkSa261OmKVwwM=\n"
)


def test_a_signer_key_gives_its_published_verifier_key() -> None:
    assert NoteSigner.parse(PETER_SIGNER).verifier.encoded() == PETER_VERIFIER
    assert NoteSigner.parse(TESSERA_SIGNER).verifier.encoded() == TESSERA_VERIFIER
    assert NoteSigner.parse(PETER_SIGNER).encoded() == PETER_SIGNER
    assert NoteVerifier.parse(PETER_VERIFIER).encoded() == PETER_VERIFIER


def test_signing_gives_the_published_note_byte_for_byte() -> None:
    assert NoteSigner.parse(PETER_SIGNER).sign(TEXT) == TEXT + "\n" + PETER_SIG


def test_a_note_opens_with_its_key_and_ignores_signatures_by_others() -> None:
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, NoteVerifier.parse(PETER_VERIFIER)) == TEXT
    assert open_note(note, NoteVerifier.parse(ENOCH_VERIFIER)) == TEXT


def test_published_checkpoints_open() -> None:
    sumdb = open_checkpoint(SUMDB_CHECKPOINT, NoteVerifier.parse(SUMDB_VERIFIER))
    assert (sumdb.origin, sumdb.size, sumdb.root.hex()[:8]) == ("go.sum database tree", 6476701, "99bf102d")
    tessera = open_checkpoint(TESSERA_CHECKPOINT, NoteVerifier.parse(TESSERA_VERIFIER), origin="example.com/log/testdata")
    assert tessera.size == 100270


def test_a_checkpoint_signed_here_opens_and_reads_back() -> None:
    signer = NoteSigner.generate("ledger.example/treaties")
    checkpoint = Checkpoint("ledger.example/treaties", 42, bytes(range(32)))
    assert checkpoint.text() == "ledger.example/treaties\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    assert open_checkpoint(checkpoint.signed(signer), signer.verifier) == checkpoint


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda n: n.replace("6476701", "6476702"), "checkpoint.signature"),
        (lambda n: n.replace("mb8Q", "mb8R"), "checkpoint.signature"),
        (lambda n: n.replace("\u2014 sum.golang.org Az3g", "\u2014 sum.golang.org Az3h"), "checkpoint.signature"),
        (lambda n: n.rstrip("\n"), "checkpoint"),
        (lambda n: n.replace("\n\n", "\n"), "checkpoint"),
        (lambda n: n.replace("\u2014 sum.golang.org", "- sum.golang.org"), "checkpoint.signature"),
    ],
)
def test_an_altered_checkpoint_is_refused_naming_what(change: object, field: str) -> None:
    with pytest.raises(BadCheckpoint) as raised:
        open_checkpoint(change(SUMDB_CHECKPOINT), NoteVerifier.parse(SUMDB_VERIFIER))  # type: ignore[operator]
    assert raised.value.field == field


def test_a_checkpoint_without_the_keys_signature_is_refused() -> None:
    with pytest.raises(BadCheckpoint, match="no signature by PeterNeumann"):
        open_checkpoint(SUMDB_CHECKPOINT, NoteVerifier.parse(PETER_VERIFIER))


def test_a_checkpoint_of_another_log_is_refused() -> None:
    with pytest.raises(BadCheckpoint, match=r"not 'ledger\.example'"):
        open_checkpoint(SUMDB_CHECKPOINT, NoteVerifier.parse(SUMDB_VERIFIER), origin="ledger.example")


@pytest.mark.parametrize(
    "key",
    [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # wrong length (Go's test)
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown algorithm (Go's test)
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # the id does not match
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # a space in the name
        "PeterNeumann",
    ],
)
def test_malformed_verifier_keys_are_refused(key: str) -> None:
    with pytest.raises(BadKey):
        NoteVerifier.parse(key)


def test_malformed_signer_keys_are_refused() -> None:
    for key in (PETER_SIGNER.replace("c74f20a3", "c74f20a4"), PETER_SIGNER.replace("PRIVATE+KEY+", ""), "PRIVATE+KEY+x+00000000+!!"):
        with pytest.raises(BadKey):
            NoteSigner.parse(key)
