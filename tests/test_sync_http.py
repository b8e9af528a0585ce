"""The synchronous client's HTTP/1.1 (client/sync_http.py): the answer parser fed every way the
bytes can arrive, its refusals, and calls against a real daemon (keep-alive, a connection the
daemon closed, answers of every framing the daemon sends)."""

from __future__ import annotations

from typing import Any

import pytest

from openras.client.api import ApiError, Client
from openras.client.http11 import MAX_HEAD
from openras.client.sync_http import AnswerParser, SyncPool
from openras.codes import ErrorCode

JSON = b'{"handle": 3, "entry": "lab", "text": "\\r\\n\\r\\n inside the body"}'
LENGTH = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Content-Length: %d\r\nServer: Python/3.11 aiohttp\r\n\r\n%s" % (len(JSON), JSON)
)
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\n" + JSON[:5] + b"\r\n" + b"%x;ext=1\r\n" % (len(JSON) - 5) + JSON[5:] + b"\r\n0\r\n\r\n"
)


def feed_split(data: bytes, cut: int, head_only: bool = False) -> AnswerParser:
    parser = AnswerParser(head_only)
    done = parser.feed(data[:cut]) if cut else False
    assert not done or cut == len(data)
    if not done:
        assert parser.feed(data[cut:])
    return parser


@pytest.mark.parametrize("answer", [LENGTH, CHUNKED], ids=["length", "chunked"])
def test_an_answer_split_anywhere_parses_the_same(answer: bytes) -> None:
    for cut in range(len(answer) + 1):
        parser = feed_split(answer, cut)
        assert (parser.status, parser.body, parser.close) == (
            201 if answer is LENGTH else 200,
            JSON,
            False,
        ), cut


def test_a_large_body_in_many_reads() -> None:
    body = bytes(range(256)) * 20_000  # 5 MB
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    parser = AnswerParser()
    reads = [answer[i : i + 4096] for i in range(0, len(answer), 4096)]
    assert not any(parser.feed(r) for r in reads[:-1])
    assert parser.feed(reads[-1]) and parser.body == body


def test_a_body_to_the_end_of_the_connection_and_http_1_0() -> None:
    parser = AnswerParser()
    assert not parser.feed(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome ")
    assert not parser.feed(b"text")
    assert parser.eof()
    assert (parser.status, parser.body, parser.close) == (200, b"some text", True)
    # HTTP/1.0 with a length: complete, but the connection is not kept.
    parser = AnswerParser()
    assert parser.feed(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert parser.close


def test_connection_close_no_body_answers_and_head() -> None:
    parser = AnswerParser()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert parser.close and parser.body == b""
    for status in (204, 304):
        parser = AnswerParser()
        assert parser.feed(b"HTTP/1.1 %d X\r\n\r\n" % status)
        assert parser.body == b"" and not parser.close
    parser = AnswerParser(head_only=True)
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")
    assert parser.body == b""


def test_an_answer_cut_short_is_not_complete() -> None:
    for answer in (LENGTH, CHUNKED):
        for cut in (10, len(answer) // 2, len(answer) - 1):
            parser = AnswerParser()
            assert not parser.feed(answer[:cut])
            assert not parser.eof()


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 100,
        b"HTTP/1.1 200 OK\r\nX: " + b"y" * MAX_HEAD,
    ],
    ids=["not-http", "status", "length", "chunk-size", "chunk-line", "endless-head"],
)
def test_malformed_answers_are_refused(answer: bytes) -> None:
    with pytest.raises(ValueError):
        AnswerParser().feed(answer)


def test_header_values_that_could_end_a_line_are_not_sent() -> None:
    pool = SyncPool("/nonexistent", 1.0, {"Accept-Language": "de\r\nX-Evil: 1", "A": "b"})
    assert pool._head == "A: b\r\n"


def test_a_request_target_with_line_ends_is_refused() -> None:
    pool = SyncPool("/nonexistent", 1.0, {})
    with pytest.raises(ValueError):
        pool.request("GET", "/v1/health HTTP/1.1\r\nX: y")


# -- against a real daemon --------------------------------------------------------------------


def test_calls_reuse_one_connection_and_survive_a_dead_one(daemon: Any) -> None:
    with Client(home=str(daemon.home), autostart=False) as c:
        health = c.call("GET", "/v1/health")
        pool = c._pool
        assert pool is not None and len(pool._idle) == 1
        first = pool._idle[0]
        c.call("POST", "/v1/entries", json={"name": "a", "lines": [["DEVICE", "ssh"]]})
        assert pool._idle == [first]  # kept alive and reused
        assert [e["name"] for e in c.call("GET", "/v1/entries")] == ["a"]
        # An idle connection that died (as when the daemon closes it; here our end is shut
        # down): the next call notices before sending on it, and opens another.
        assert first.sock is not None
        first.sock.shutdown(2)
        assert c.call("GET", "/v1/health")["pid"] == health["pid"]
        with pytest.raises(ApiError) as raised:
            c.call("GET", "/v1/connections/99999")
        assert raised.value.code == ErrorCode.ERROR_INVALID_HANDLE
        # Plain text, and the daemon's chunked event stream is not this client's to read.
        assert "openras_event_subscribers" in c._ready().request("GET", "/metrics")[1].decode()
