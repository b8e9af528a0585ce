"""What both of the client's HTTP/1.1 answer parsers read the same way (sans-IO): an answer's
head, and one chunk of a chunked body. Malformed bytes raise ValueError; each parser says what
that means for it (a lost event stream, a failed call)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_HEAD = 64 * 1024  # an answer's status line and headers; more is not our daemon's
MAX_CHUNK_LINE = 64  # a chunk size line longer than this is not our daemon's


@dataclass(frozen=True)
class Head:
    status: int
    length: int | None  # Content-Length
    chunked: bool
    close: bool  # the connection ends with this answer (Connection: close, or HTTP/1.0)


def parse_head(head: bytes) -> Head:
    """The status line and headers, up to (not including) the blank line."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ValueError("not an HTTP/1.x answer")
    length: int | None = None
    chunked = False
    close = parts[0] == b"HTTP/1.0"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            if not value.strip().isdigit():
                raise ValueError("bad Content-Length")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            tokens = value.lower()
            close = b"close" in tokens or (close and b"keep-alive" not in tokens)
    return Head(int(parts[1]), None if chunked else length, chunked, close)


def take_head(buf: bytes) -> tuple[Head, bytes] | None:
    """The head at the start of ``buf``, parsed, and the bytes after it; None while it is not
    all there yet."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > MAX_HEAD:
            raise ValueError("answer head too large")
        return None
    return parse_head(buf[:end]), buf[end + 4 :]


def next_chunk(buf: bytes, pos: int) -> tuple[bytes | None, int] | None:
    """The chunk whose size line begins at ``pos``: its data (None for the last, empty chunk)
    and where what follows it begins; None while it is not all in ``buf`` yet."""
    line_end = buf.find(b"\r\n", pos)
    if line_end < 0:
        if len(buf) - pos > MAX_CHUNK_LINE:
            raise ValueError("bad chunk size line")
        return None
    try:
        length = int(buf[pos:line_end].split(b";", 1)[0], 16)
    except ValueError:
        raise ValueError("bad chunk size line") from None
    if length < 0:
        raise ValueError("bad chunk size line")
    start = line_end + 2
    if length == 0:
        return None, start
    end = start + length
    if end + 2 > len(buf):
        return None
    if buf[end : end + 2] != b"\r\n":
        raise ValueError("bad chunk")
    return buf[start:end], end + 2
