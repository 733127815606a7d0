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
