"""Where each numbered test of ../shared/notes/privacy-security.md lives in this suite.

The note lists the tests an app like this one should have (13-47: sessions,
authorization, CSRF and headers, logs, privacy law, Stripe). This table says which
test functions carry each one here, and fails when one of them is renamed or
removed, so the list cannot quietly go stale.
"""

from __future__ import annotations

import importlib

import pytest

CHECKLIST: dict[int, tuple[str, ...]] = {
    13: (
        "tests.unit.test_passwords::test_the_production_profile_is_argon2id_within_asvs_parameters",
        "tests.views.test_account_security::test_an_old_hash_is_upgraded_at_the_next_sign_in",
    ),
    14: (
        "tests.views.test_sign_in_defences::test_length_is_the_rule_and_common_passwords_are_refused",
    ),
    15: (
        "tests.views.test_auth::test_a_wrong_password_and_an_unknown_email_get_the_same_answer",
        "tests.views.test_auth::test_asking_for_a_reset_for_an_unknown_email_looks_the_same_and_sends_nothing",
        "tests.views.test_join::test_joining_with_a_used_email_looks_exactly_like_a_new_join",
        "tests.views.test_account_security::test_asking_for_an_email_already_in_use_looks_the_same",
        "tests.views.test_sign_in_defences::test_signing_in_takes_as_long_for_unknown_accounts",
        "tests.views.test_sign_in_defences::test_asking_for_a_reset_answers_as_fast_for_unknown_emails",
        "tests.views.test_sign_in_defences::test_joining_answers_as_fast_with_a_used_email",
    ),
    16: (
        "tests.views.test_sign_in_defences::test_failed_sign_ins_are_throttled_per_account_then_forgiven",
        "tests.views.test_sign_in_defences::test_one_address_trying_many_accounts_is_throttled",
        "tests.views.test_sign_in_defences::test_an_unknown_account_is_throttled_the_same_way",
        "tests.views.test_sign_in_defences::test_failures_from_many_addresses_do_not_keep_the_owner_out",
        "tests.views.test_sign_in_defences::test_on_a_new_device_during_an_attack_a_reset_link_lets_the_owner_in",
        "tests.views.test_sign_in_defences::test_a_known_device_has_a_small_limit_of_its_own",
        "tests.views.test_sign_in_defences::test_a_cookie_that_is_not_valid_for_the_account_counts_as_untrusted",
        "tests.test_shared_throttle::test_both_instances_count_against_one_limit",
    ),
    17: (
        "tests.views.test_auth::test_signing_in_issues_a_new_cookie_and_logging_out_revokes_it",
    ),
    18: (
        "tests.views.test_auth::test_signing_in_issues_a_new_cookie_and_logging_out_revokes_it",
        "tests.services.test_accounts::test_a_login_session_works_until_ended",
    ),
    19: (
        "tests.views.test_auth::test_changing_the_password_signs_out_other_devices_but_not_this_one",
        "tests.views.test_admin_views::test_disabling_an_account_signs_it_out_at_once",
        "tests.views.test_account_security::test_signing_out_everywhere_else_keeps_this_device",
    ),
    20: (
        "tests.views.test_account_security::test_changing_email_or_dues_level_from_a_stale_session_asks_for_the_password",
        "tests.views.test_account_security::test_a_stale_session_cannot_change_the_password_without_the_current_one",
    ),
    21: (
        "tests.views.test_account_security::test_production_cookies_are_host_only_secure_httponly_and_lax",
        "tests.views.test_account_security::test_signing_in_sets_no_long_lived_remember_cookie",
        "tests.views.test_account_security::test_the_production_device_cookie_is_host_only_secure_httponly_and_strict",
    ),
    22: (
        "tests.views.test_access_policy::test_every_endpoint_has_a_row_in_the_policy_table",
        "tests.views.test_access_policy::test_every_endpoint_declares_exactly_what_the_table_says",
    ),
    23: ("tests.views.test_access_policy::test_authorization_matrix",),
    24: (
        "tests.views.test_grievances_views::test_another_workplaces_steward_gets_404_for_the_case_note_and_document",
        "tests.views.test_privacy_views::test_probing_another_workplaces_records_is_refused_and_audited",
        "tests.views.test_steward_scope::test_a_steward_of_another_workplace_changes_nothing",
        "tests.views.test_steward_scope::test_a_second_object_outside_the_stewards_scope_is_refused",
    ),
    25: (
        "tests.views.test_members_views::test_a_steward_gets_404_for_another_workplaces_member",
        "tests.views.test_members_views::test_a_steward_cannot_end_a_job_at_a_workplace_they_do_not_cover",
        "tests.views.test_members_views::test_a_profile_form_cannot_change_status_account_or_number",
    ),
    26: ("tests.views.test_members_views::test_organizers_see_no_member_rows",),
    27: (
        "tests.views.test_csrf::test_a_post_without_a_token_is_refused",
        "tests.views.test_csrf::test_no_get_endpoint_changes_state",
    ),
    28: (
        "tests.views.test_csrf::test_only_the_stripe_webhook_and_the_unsubscribe_link_are_exempt_from_csrf",
    ),
    29: (
        "tests.views.test_pages::test_security_headers_are_set",
        "tests.views.test_pages::test_signed_in_pages_are_not_cached",
        "tests.views.test_account_security::test_production_cookies_are_host_only_secure_httponly_and_lax",
    ),
    30: (
        "tests.views.test_grievances_views::test_script_payloads_are_escaped_everywhere",
        "tests.views.test_members_views::test_names_are_escaped_everywhere_they_are_shown",
    ),
    31: (
        "tests.unit.test_csvsafe::test_cells_a_spreadsheet_would_run_as_formulas_are_quoted",
        "tests.unit.test_csvsafe::test_csv_lines_quote_commas_quotes_and_newlines_per_rfc_4180",
        "tests.services.test_audit::test_the_csv_is_safe_in_a_spreadsheet_and_its_export_is_recorded",
    ),
    32: (
        "tests.views.test_log_canary::test_values_typed_into_any_form_never_reach_the_logs",
        "tests.views.test_log_canary::test_database_errors_and_crashes_log_no_values",
        "tests.views.test_log_canary::test_the_development_servers_request_log_is_redacted",
    ),
    33: (
        "tests.unit.test_config::test_production_refuses_unsafe_settings_and_says_which",
        "tests.unit.test_config::test_every_problem_is_named_at_once",
    ),
    34: (
        "tests.services.test_privacy::test_personal_data_holds_everything_about_the_member_and_nothing_else",
        "tests.views.test_privacy_views::test_a_member_reads_and_downloads_everything_held_about_them",
    ),
    35: (
        "tests.services.test_privacy::test_erasure_clears_every_personal_field_and_keeps_the_books",
        "tests.services.test_privacy::test_erasure_leaves_the_organizers_grievance_counts_as_published",
        "tests.stripe.test_leaving::test_leaving_cancels_the_subscription_and_deletes_the_stripe_customer",
    ),
    36: (
        "tests.services.test_retention::test_tokens_and_sessions_go_a_month_after_they_end",
        "tests.services.test_retention::test_long_closed_grievances_keep_their_counts_but_lose_their_story",
        "tests.services.test_retention::test_audit_rows_stay_unless_a_period_is_set_and_every_run_is_recorded",
    ),
    37: (
        "tests.services.test_privacy::test_the_breach_register_checks_dates_and_records_who",
        "tests.views.test_privacy_views::test_admins_record_and_update_breaches",
    ),
    38: (
        "tests.stripe.test_card_dues::test_a_bad_signature_answers_400_and_changes_nothing",
        "tests.stripe.test_card_dues::test_a_rotated_secret_still_verifies_with_one_good_signature",
    ),
    39: (
        "tests.stripe.test_card_dues::test_invoice_paid_and_payment_succeeded_for_one_invoice_count_once",
        "tests.stripe.test_concurrent_delivery::test_the_same_event_twice_at_once_leaves_one_ledger_row",
    ),
    40: (
        "tests.stripe.test_card_dues::test_subscription_events_apply_newest_first_whatever_order_they_arrive_in",
        "tests.stripe.test_card_dues::test_checkout_completed_arriving_after_the_invoice_converges",
    ),
    41: (
        "tests.stripe.test_card_dues::test_an_internal_error_answers_500_keeps_nothing_and_the_retry_succeeds",
        "tests.test_faults::test_a_webhook_cut_halfway_keeps_nothing_and_its_retry_counts_once",
    ),
    42: (
        "tests.stripe.test_card_dues::test_unknown_event_types_are_stored_and_ignored",
    ),
    43: (
        "tests.stripe.test_card_dues::test_the_success_redirect_alone_never_marks_anything_paid",
    ),
    44: (
        "tests.stripe.test_card_dues::test_a_tampered_months_count_is_refused_before_stripe_is_called",
        "tests.stripe.test_card_dues::test_the_idempotency_keys_come_from_our_own_records",
        "tests.views.test_dues_views::test_changing_level_without_stripe_takes_effect_next_month",
    ),
    45: (
        "tests.stripe.test_card_dues::test_checkout_asks_for_the_level_price_and_the_initiation_fee_and_shares_no_personal_data",
    ),
}


@pytest.mark.parametrize("number", sorted(CHECKLIST))
def test_the_numbered_security_test_exists(number):
    for reference in CHECKLIST[number]:
        module_name, function = reference.split("::")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, function, None)), reference


def test_every_number_the_issue_asks_for_is_covered():
    assert set(range(13, 34)) | set(range(38, 46)) <= set(CHECKLIST)
