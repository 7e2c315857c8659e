"""Sealed boxes (union.adapters.sealing): only their key opens them, in their own
context, and every box of one size is as long as every other."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from union.adapters import sealing

SIZE = 64


@pytest.fixture
def key():
    return sealing.new_key()


def test_a_box_opens_with_its_key_only_in_its_context(key):
    box = sealing.seal(b"wage 2450", key, size=SIZE, context=b"round 1")
    assert sealing.Opener(key, context=b"round 1").open(box) == b"wage 2450"
    other = sealing.new_key()
    assert other != key
    for opener in (
        sealing.Opener(other, context=b"round 1"),
        # A box from one round does not open as another round's.
        sealing.Opener(key, context=b"round 2"),
    ):
        with pytest.raises(sealing.CannotOpen):
            opener.open(box)


def test_keys_are_32_random_bytes_and_nothing_else_is_one(key):
    assert len(key) == sealing.KEY_BYTES == 32
    for wrong in (key[:16], key + b"\0"):
        with pytest.raises(ValueError, match="32 bytes"):
            sealing.seal(b"x", wrong, size=SIZE, context=b"c")
        with pytest.raises(ValueError, match="32 bytes"):
            sealing.Opener(wrong, context=b"c")


def test_boxes_are_all_one_length_and_never_repeat(key):
    boxes = [
        sealing.seal(message, key, size=SIZE, context=b"c")
        for message in (b"", b"x", b"x" * (SIZE - 2), b"x", b"x")
    ]
    assert {len(box) for box in boxes} == {sealing.sealed_size(SIZE)}
    assert sealing.sealed_size(SIZE) == SIZE + 12 + 16
    # A fresh nonce each time: the same message seals to unrelated bytes.
    assert len(set(boxes)) == len(boxes)
    assert len({box[: sealing.NONCE_BYTES] for box in boxes}) == len(boxes)
    assert all(b"x" * 8 not in box for box in boxes)


def test_a_message_too_long_for_the_size_is_refused(key):
    with pytest.raises(ValueError, match="does not fit"):
        sealing.seal(b"x" * (SIZE - 1), key, size=SIZE, context=b"c")


def test_a_changed_box_does_not_open_and_open_all_says_which(key):
    good = sealing.seal(b"kept", key, size=SIZE, context=b"c")
    changed_nonce = bytes([good[0] ^ 1]) + good[1:]
    changed_body = good[:20] + bytes([good[20] ^ 1]) + good[21:]
    flipped_tag = good[:-1] + bytes([good[-1] ^ 1])
    opener = sealing.Opener(key, context=b"c")
    opened = list(
        opener.open_all(
            [good, changed_nonce, changed_body, flipped_tag, b"", good[:20], good[:40]]
        )
    )
    assert opened == [b"kept", None, None, None, None, None, None]


def test_open_all_reads_many_boxes_at_once_and_still_finds_a_bad_length(key):
    """Every box opens in one pass; a box whose sealed length says more than it
    holds (only someone with the key could make one) is still found."""
    messages = [b"answer %d" % number for number in range(50)]
    boxes = [sealing.seal(m, key, size=SIZE, context=b"c") for m in messages]
    opener = sealing.Opener(key, context=b"c")
    assert list(opener.open_all(boxes)) == messages
    nonce = bytes(sealing.NONCE_BYTES)
    too_long = (SIZE).to_bytes(2, "big") + bytes(SIZE - 2)
    forged = nonce + AESGCM(key).encrypt(nonce, too_long, b"c")
    assert list(opener.open_all([*boxes[:2], forged])) == [*messages[:2], None]
