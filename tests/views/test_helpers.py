"""The small helpers every view leans on."""

from datetime import date

from union.views.helpers import csv_download, month_value


def test_a_csv_download_is_named_safely_and_never_cached(app):
    with app.test_request_context():
        response = csv_download(iter(["a,b\r\n", "1,2\r\n"]), 'r\xe9port "1"/<x>;2')
        assert response.get_data(as_text=True) == "a,b\r\n1,2\r\n"
    assert response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="r_port__1___x__2.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"


def test_a_csv_download_keeps_a_plain_name_as_it_is(app):
    with app.test_request_context():
        response = csv_download(["x\r\n"], "report-3-wages-union_v2.1")
        assert response.get_data(as_text=True) == "x\r\n"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="report-3-wages-union_v2.1.csv"'
    )


def test_a_month_value_is_read_or_falls_back_to_this_month(app):
    with app.test_request_context():
        assert month_value("2026-03") == date(2026, 3, 1)
        for tampered in (None, "", "2026-13", "2026-03-01", "<x>"):
            assert month_value(tampered) == date(2026, 11, 1)
