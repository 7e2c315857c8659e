"""Every enum value shown to people has its own plain words."""

from collections import Counter

from union.labels import LABELS, OWN_LABELS, label
from union.models import CorrectionStatus, WaiverReason, WaiverStatus, WorkplaceStatus

#: Values two enums in LABELS share, whose words are the same for both ("Lost" is
#: a step and an outcome): a StrEnum hashes as its text, so one entry serves both.
SHARED_WITH_THE_SAME_WORDS = {"lost", "withdrawn", "other"}


def labelled_kinds():
    return {type(value) for value in LABELS} | set(OWN_LABELS)


def test_every_value_of_every_labelled_enum_has_words():
    for kind in labelled_kinds():
        for value in kind:
            assert label(value), value


def test_enums_in_labels_share_a_value_only_where_the_words_are_the_same():
    kinds = {type(value) for value in LABELS}
    counts = Counter(value.value for kind in kinds for value in kind)
    assert {value for value, count in counts.items() if count > 1} <= (
        SHARED_WITH_THE_SAME_WORDS
    )
    assert not kinds & set(OWN_LABELS)


def test_values_two_enums_share_keep_each_enums_own_words():
    assert label(WaiverReason.OTHER) == "Something else"
    assert label(WorkplaceStatus.PENDING) == "Waiting for an organizer to confirm"
    assert label(WaiverStatus.PENDING) == "waiting for a decision"
    assert label(CorrectionStatus.DECLINED) == "Not changed"
