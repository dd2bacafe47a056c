"""The JS host serves one directory's regular files, with the headers a bundle needs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge_proxy.config import Settings
from edge_proxy.flow import EdgeRequest
from edge_proxy.static import StaticFiles, html_csp
from tests.edge_proxy.conftest import Upstreams, running_edge

JS = {"host": "js.localhost:8080"}


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    root.mkdir()
    (root / "strongroom.3f9a1c2b.js").write_text("console.log('hashed');")
    (root / "strongroom.js").write_text("console.log('latest');")
    (root / "fields.3f9a1c2b.html").write_text("<!doctype html><title>fields</title>")
    (root / "manifest.json").write_text('{"strongroom.js": {"integrity": "sha384-x"}}')
    (root / ".env").write_text("SECRET=1")
    (root / "sub").mkdir()
    (root / "sub" / "inner.js").write_text("x")
    (tmp_path / "outside.js").write_text("outside")
    os.symlink(tmp_path / "outside.js", root / "linked.js")
    return root


@pytest.fixture
def js(dist: Path):
    upstreams = Upstreams()
    with running_edge(upstreams, js_dir=str(dist)) as client:
        yield client
    assert upstreams.seen == []


def test_a_hashed_script_is_immutable_and_cross_origin(js):
    response = js.get("/strongroom.3f9a1c2b.js", headers=JS)
    assert response.status_code == 200
    assert response.text == "console.log('hashed');"
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers


def test_an_unhashed_name_is_revalidated(js):
    response = js.get("/strongroom.js", headers=JS)
    assert response.headers["cache-control"] == "no-cache"
    again = js.get("/strongroom.js", headers={**JS, "if-none-match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    manifest = js.get("/manifest.json", headers=JS)
    assert manifest.headers["content-type"] == "application/json; charset=utf-8"
    assert manifest.headers["cache-control"] == "no-cache"
    assert manifest.headers["access-control-allow-origin"] == "*"


def test_html_gets_a_strict_csp_that_lets_merchants_frame_it(js):
    response = js.get("/fields.3f9a1c2b.html", headers=JS)
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'")
    assert "connect-src http://api.localhost:" in csp and "frame-ancestors *" in csp
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    "path",
    ["/.env", "/sub/inner.js", "/sub", "/linked.js", "/missing.js", "/", "/..%2Fstrongroom.js"],
)
def test_only_regular_files_directly_inside_are_served(js, path):
    response = js.get(path, headers=JS)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_head_has_the_length_and_no_body_and_post_is_refused(js):
    head = js.head("/strongroom.js", headers=JS)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len("console.log('latest');"))
    assert js.post("/strongroom.js", headers=JS).status_code == 405


def test_a_rebuilt_file_is_served_anew(js, dist):
    assert js.get("/strongroom.js", headers=JS).text == "console.log('latest');"
    (dist / "strongroom.js").write_text("console.log('rebuilt!');")
    assert js.get("/strongroom.js", headers=JS).text == "console.log('rebuilt!');"


def test_a_missing_directory_is_404_for_every_path(tmp_path):
    with running_edge(Upstreams(), js_dir=str(tmp_path / "absent")) as client:
        for path in ("/strongroom.js", "/manifest.json", "/"):
            assert client.get(path, headers=JS).status_code == 404
        assert client.get("/healthz").status_code == 200


def test_the_csp_names_the_configured_api_origins():
    settings = Settings(api_origins="https://api.example.com, https://api.example.org/")
    assert settings.api_origins == ["https://api.example.com", "https://api.example.org"]
    csp = html_csp(settings.api_origins).decode()
    assert "connect-src https://api.example.com https://api.example.org;" in csp
    assert Settings(port=9000).api_origins[0] == "http://api.localhost:9000"


def test_files_are_read_only_by_plain_name(tmp_path):
    files = StaticFiles(tmp_path, [])
    request = EdgeRequest("GET", "/x\x00.js", b"/x%00.js")
    with pytest.raises(Exception) as info:
        files.serve(request)
    assert getattr(info.value, "status_code", None) == 404
