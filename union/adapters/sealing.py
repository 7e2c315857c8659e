"""Sealed boxes: a message anyone can seal to a public key and only the private
key's holder can open.

The construction is HPKE (RFC 9180) in base mode, single shot, as the
`cryptography` package implements it: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
AES-128-GCM. Every seal makes a fresh ephemeral key, so sealing the same message
twice gives unrelated bytes, and nothing in a sealed box says which public key
(let alone whose message) it is. `context` is HPKE's `info`: a box sealed for one
context does not open in another.

Messages are padded to a fixed size before sealing, so every box of one size is
exactly as long as every other: the length of a box says nothing about how much
was in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
#: The ephemeral public key HPKE puts first, and the AEAD tag it puts last.
OVERHEAD = 32 + 16
#: The padded message starts with its true length, in two bytes.
_LENGTH_BYTES = 2


class CannotOpen(ValueError):
    """The box was not sealed to this key and context, or it was changed."""


def new_key_pair() -> tuple[bytes, bytes]:
    """(public key, private key), 32 raw bytes each."""
    private = x25519.X25519PrivateKey.generate()
    return private.public_key().public_bytes_raw(), private.private_bytes_raw()


def sealed_size(size: int) -> int:
    """How long every box of messages padded to `size` is."""
    return size + OVERHEAD


def _pad(message: bytes, size: int) -> bytes:
    room = size - _LENGTH_BYTES
    if len(message) > room:
        raise ValueError(f"a message of {len(message)} bytes does not fit in {size}")
    return len(message).to_bytes(_LENGTH_BYTES, "big") + message.ljust(room, b"\0")


def _unpad(padded: bytes) -> bytes:
    length = int.from_bytes(padded[:_LENGTH_BYTES], "big")
    if length > len(padded) - _LENGTH_BYTES:
        raise CannotOpen("the padding is damaged")
    return padded[_LENGTH_BYTES : _LENGTH_BYTES + length]


def seal(message: bytes, public_key: bytes, *, size: int, context: bytes) -> bytes:
    """`message` padded to `size` bytes and sealed to `public_key`."""
    recipient = x25519.X25519PublicKey.from_public_bytes(public_key)
    return SUITE.encrypt(_pad(message, size), recipient, info=context)


class Opener:
    """Opens boxes sealed to one key pair, in one context."""

    def __init__(self, private_key: bytes, *, context: bytes) -> None:
        self._key = x25519.X25519PrivateKey.from_private_bytes(private_key)
        self._context = context

    def open(self, box: bytes) -> bytes:
        try:
            return _unpad(SUITE.decrypt(box, self._key, info=self._context))
        except (InvalidTag, ValueError) as error:
            raise CannotOpen("this box does not open with this key") from error

    def open_all(self, boxes: Iterable[bytes]) -> Iterator[bytes | None]:
        """Each box's message, or None for a box that does not open: the caller
        decides what a damaged box means, after seeing them all."""
        for box in boxes:
            try:
                yield self.open(box)
            except CannotOpen:
                yield None


__all__ = [
    "OVERHEAD",
    "CannotOpen",
    "Opener",
    "new_key_pair",
    "seal",
    "sealed_size",
]
