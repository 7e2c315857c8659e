"""The small helpers every view leans on."""

from union.views.helpers import csv_download


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
