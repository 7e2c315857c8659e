from argon2 import PasswordHasher, extract_parameters, profiles
from argon2.low_level import Type

from union.rules import passwords


def test_the_production_profile_is_argon2id_within_asvs_parameters():
    hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
    parameters = extract_parameters(hasher.hash("a password"))
    assert parameters.type is Type.ID
    assert parameters.time_cost >= 3
    assert parameters.memory_cost >= 12 * 1024


def test_verify_accepts_the_right_password_only():
    stored = passwords.hash_password("a long enough password")
    assert passwords.verify_password(stored, "a long enough password")
    assert not passwords.verify_password(stored, "a long enough passworD")
    assert not passwords.verify_password(None, "anything")
    assert not passwords.verify_password("not a hash", "anything")


def test_length_is_the_only_rule():
    assert passwords.password_problems("seven77")
    assert passwords.password_problems("eight888") == []
    assert passwords.password_problems("x" * 64) == []
    assert passwords.password_problems("all lowercase words") == []
