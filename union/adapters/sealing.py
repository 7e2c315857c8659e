"""Sealed boxes: messages sealed with one secret key, of fixed size, that only
that key opens.

The construction is AES-256-GCM (the `cryptography` package's AESGCM): a box is
a fresh random 12-byte nonce, then the padded message encrypted, then GCM's
16-byte tag. A 96-bit random nonce per box keeps the chance of two boxes of one
key sharing a nonce negligible for the few hundred thousand boxes a key ever
seals (NIST SP 800-38D allows 2**32 random nonces per key). So sealing the same
message twice gives unrelated bytes, and nothing in a box says which key it was
sealed with, let alone whose message it is. `context` is GCM's associated data:
a box sealed in one context (a survey round) does not open in another.

Messages are padded to a fixed size before sealing, so every box of one size is
exactly as long as every other: the length of a box says nothing about how much
was in it.

This is a symmetric key: whoever can seal can also open. It replaced sealing to
a public key (HPKE, X25519) because opening a box then cost one X25519 key
agreement, some 70 microseconds, which made opening a large round's boxes the
bulk of closing it, and the public key bought nothing here: the private key was
stored next to the boxes, encrypted with the app's ENCRYPTION_KEYS, which the
web process that seals also holds. Protection is the same as it was: without
ENCRYPTION_KEYS, a copy of the database (or a dump of it) opens nothing; with
them, it opens everything, then as now.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import repeat
from operator import itemgetter
from typing import cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: Bytes of key: AES-256.
KEY_BYTES = 32
#: Bytes of the random nonce each box starts with.
NONCE_BYTES = 12
#: The nonce in front, and GCM's tag at the end.
OVERHEAD = NONCE_BYTES + 16
#: The padded message starts with its true length, in two bytes.
_LENGTH_BYTES = 2


class CannotOpen(ValueError):
    """The box was not sealed with this key and context, or it was changed."""


def new_key() -> bytes:
    """A fresh random key, 32 raw bytes."""
    return os.urandom(KEY_BYTES)


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


def _cipher(key: bytes) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a sealing key is {KEY_BYTES} bytes, not {len(key)}")
    return AESGCM(key)


def seal(message: bytes, key: bytes, *, size: int, context: bytes) -> bytes:
    """`message` padded to `size` bytes and sealed with `key`, in `context`."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + _cipher(key).encrypt(nonce, _pad(message, size), context)


class Opener:
    """Opens boxes sealed with one key, in one context."""

    def __init__(self, key: bytes, *, context: bytes) -> None:
        self._cipher = _cipher(key)
        self._context = context

    def open(self, box: bytes) -> bytes:
        if len(box) < OVERHEAD:
            raise CannotOpen("this box is too short to be one")
        try:
            return _unpad(
                self._cipher.decrypt(
                    box[:NONCE_BYTES], box[NONCE_BYTES:], self._context
                )
            )
        except (InvalidTag, ValueError) as error:
            raise CannotOpen("this box does not open with this key") from error

    def open_all(self, boxes: Iterable[bytes]) -> Iterator[bytes | None]:
        """Each box's message, or None for a box that does not open: the caller
        decides what a damaged box means, after seeing them all. What `open` does
        for each, in calls that run in C over all of them (closing a round opens
        every answer); when a box does not open, box by box to say which."""
        boxes = list(boxes)
        try:
            padded = list(
                map(
                    self._cipher.decrypt,
                    map(_NONCE_OF, boxes),
                    map(_CIPHERTEXT_OF, boxes),
                    repeat(self._context),
                )
            )
        except (InvalidTag, ValueError):
            return self._open_each(boxes)
        lengths = list(map(_length_of, map(_LENGTH_OF, padded)))
        rooms = map(operator.sub, map(len, padded), repeat(_LENGTH_BYTES))
        if not all(map(operator.le, lengths, rooms)):
            return self._open_each(boxes)
        ends = map(operator.add, lengths, repeat(_LENGTH_BYTES))
        cut = cast(Callable[[bytes, slice], bytes], operator.getitem)
        return iter(list(map(cut, padded, map(slice, repeat(_LENGTH_BYTES), ends))))

    def _open_each(self, boxes: list[bytes]) -> Iterator[bytes | None]:
        for box in boxes:
            try:
                yield self.open(box)
            except CannotOpen:
                yield None


_NONCE_OF = itemgetter(slice(None, NONCE_BYTES))
_CIPHERTEXT_OF = itemgetter(slice(NONCE_BYTES, None))
_LENGTH_OF = itemgetter(slice(None, _LENGTH_BYTES))
_length_of = partial(int.from_bytes, byteorder="big")


__all__ = [
    "KEY_BYTES",
    "OVERHEAD",
    "CannotOpen",
    "Opener",
    "new_key",
    "seal",
    "sealed_size",
]
