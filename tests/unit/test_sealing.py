"""Sealed boxes (union.adapters.sealing): only the private key opens them, in
their own context, and every box of one size is as long as every other."""

from __future__ import annotations

import pytest

from union.adapters import sealing

SIZE = 64


@pytest.fixture
def keys():
    return sealing.new_key_pair()


def test_a_box_opens_with_its_private_key_only(keys):
    public, private = keys
    box = sealing.seal(b"wage 2450", public, size=SIZE, context=b"round 1")
    assert sealing.Opener(private, context=b"round 1").open(box) == b"wage 2450"
    _other_public, other_private = sealing.new_key_pair()
    for opener in (
        sealing.Opener(other_private, context=b"round 1"),
        sealing.Opener(private, context=b"round 2"),
        # Whoever has only what is stored in the clear has the public key.
        sealing.Opener(public, context=b"round 1"),
    ):
        with pytest.raises(sealing.CannotOpen):
            opener.open(box)


def test_boxes_are_all_one_length_and_never_repeat(keys):
    public, _private = keys
    boxes = [
        sealing.seal(message, public, size=SIZE, context=b"c")
        for message in (b"", b"x", b"x" * (SIZE - 2), b"x")
    ]
    assert {len(box) for box in boxes} == {sealing.sealed_size(SIZE)}
    assert len(set(boxes)) == len(boxes)
    assert all(b"x" * 8 not in box for box in boxes)


def test_a_message_too_long_for_the_size_is_refused(keys):
    public, _private = keys
    with pytest.raises(ValueError, match="does not fit"):
        sealing.seal(b"x" * (SIZE - 1), public, size=SIZE, context=b"c")


def test_a_changed_box_does_not_open_and_open_all_says_which(keys):
    public, private = keys
    good = sealing.seal(b"kept", public, size=SIZE, context=b"c")
    changed = bytes([good[0] ^ 1]) + good[1:]
    flipped_tag = good[:-1] + bytes([good[-1] ^ 1])
    opener = sealing.Opener(private, context=b"c")
    opened = list(opener.open_all([good, changed, flipped_tag, b"", good[:40]]))
    assert opened == [b"kept", None, None, None, None]
