"""What a request may cost before its caller is known: no body read without credentials,
and bodies bounded (files apart) while they are read."""

from __future__ import annotations

import pytest

from tamis.settings import settings
from tests.conftest import login


@pytest.mark.parametrize("path", ["/api/declarations", "/api/social/exports",
                                  "/api/cases/1/attachments"])  # fmt: skip
def test_a_write_without_credentials_is_refused_before_its_body_is_read(anonymous, path):
    sent = []

    def body():
        for _ in range(200):  # 200 MiB if it were all read
            sent.append(1)
            yield b"x" * (1024 * 1024)

    answer = anonymous.post(path, content=body(), headers={"content-type": "application/json"})
    assert answer.status_code == 401
    assert len(sent) <= 2  # refused at once, not after 200 MiB


def test_a_json_body_beyond_the_limit_is_refused_while_it_is_read(anonymous):
    headers = login(anonymous, "analyst")
    too_big = b"[" + b'"x",' * (settings().max_body_bytes // 4) + b'"x"]'
    answer = anonymous.post("/api/declarations", content=too_big, headers=headers | {
        "content-type": "application/json"})  # fmt: skip
    assert answer.status_code == 413


def test_a_file_larger_than_the_json_limit_may_still_be_uploaded(anonymous):
    headers = login(anonymous, "analyst")
    export = b'{"post_id": "1", "platform": "tiktok", "account": "a", "text": "Nike copie"}\n'
    padding = b"\n" * (settings().max_body_bytes + 1024)  # blank lines: read, then skipped
    files = {"file": ("posts.jsonl", export + padding, "application/x-ndjson")}
    answer = anonymous.post("/api/social/exports", files=files, headers=headers)
    assert answer.status_code == 201, answer.text
    assert answer.json()["accepted"] == 1


def test_an_upload_with_the_session_cookie_needs_the_pages_token(anonymous, tmp_path):
    from tests.test_web import browser_login

    anonymous.follow_redirects = False
    token = browser_login(anonymous, "analyst")
    files = {"file": ("posts.jsonl", b'{"post_id": "1", "platform": "x", "account": "a", '
                      b'"text": "t"}\n', "application/x-ndjson")}  # fmt: skip
    assert anonymous.post("/api/social/exports", files=files).status_code == 403
    sent = anonymous.post("/api/social/exports", files=files, headers={"X-CSRF-Token": token})
    assert sent.status_code == 201, sent.text


def test_a_file_is_kept_as_what_its_bytes_are_not_as_its_sender_says(client):
    from tamis.cases.cases import open_case

    case_id = open_case(client.app.state.engine, "a suspicion", "admin")
    page = {"file": ("photo.png", b"<script>alert(1)</script>", "text/html")}
    kept = client.post(f"/api/cases/{case_id}/attachments", files=page).json()
    assert kept["content_type"] == "application/octet-stream"  # neither HTML nor a PNG
    served = client.get(f"/api/attachments/{kept['attachment_id']}")
    assert "text/html" not in served.headers["content-type"]


def test_a_photo_without_an_extension_is_known_by_its_bytes(client):
    from tamis.cases.cases import open_case

    case_id = open_case(client.app.state.engine, "a suspicion", "admin")
    photo = {"file": ("IMG_0002", b"\x89PNG\r\n\x1a\n" + bytes(32), "application/octet-stream")}
    kept = client.post(f"/api/cases/{case_id}/attachments", files=photo).json()
    assert kept["content_type"] == "image/png"


def test_a_dashboard_form_without_a_session_goes_to_login_before_its_body_is_read(anonymous):
    sent = []

    def body():
        for _ in range(200):
            sent.append(1)
            yield b"x" * (1024 * 1024)

    anonymous.follow_redirects = False
    answer = anonymous.post("/declarations/D-1/documents", content=body(), headers={
        "content-type": "multipart/form-data; boundary=x"})  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/declarations/D-1/documents"
    assert len(sent) <= 2
