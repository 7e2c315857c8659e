import pytest

from union.web.auth import safe_next_url


@pytest.mark.parametrize("target", ["/members/", "/workplaces/3?x=1", "/"])
def test_local_paths_are_kept(target):
    assert safe_next_url(target, "/home") == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "members",
        "/x\r\nSet-Cookie: a=b",
    ],
)
def test_anything_that_could_leave_the_site_falls_back(target):
    assert safe_next_url(target, "/home") == "/home"
