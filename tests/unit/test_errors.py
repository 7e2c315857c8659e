"""What a page shows when a service refuses: every message, in field order."""

from union.errors import InvalidTransition, ValidationFailed, flat


def test_a_refusal_lists_every_message_in_field_order():
    error = ValidationFailed({"months": "Too many.", "": ["Not now.", "Not so."]})
    assert error.messages == ["Too many.", "Not now.", "Not so."]


def test_any_other_domain_error_says_its_one_message():
    assert InvalidTransition("This round is already closed.").messages == [
        "This round is already closed."
    ]


def test_a_forms_errors_flatten_the_same_way():
    assert flat({"step": ["Choose the next step."], "deadline_on": []}) == [
        "Choose the next step."
    ]
