"""The event stream off the socket (client/event_stream.py): the sans-IO parser in memory, fed
what the daemon's bus writes (frames encoded by events/bus.py), split at every boundary; then
both readers against a real daemon, and the typed codec both ends use."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

import pytest

from openras.client.api import ApiError, AsyncClient, Client
from openras.client.event_stream import StreamParser
from openras.codes import RASCS, ErrorCode
from openras.events.bus import make_item
from openras.events.types import (
    EntryChanged,
    Event,
    HookOutcome,
    HookRan,
    HookStage,
    Notify,
    Phase,
    StateChanged,
    decode,
    encode,
    encode_json,
)

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
FIRST = b": openras events, last seq 0\n\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def sample_events() -> list[Event]:
    base: dict[str, Any] = {
        "entry": 'e\u00e9 "quoted"\nnewline',  # JSON escapes: no raw newline in a frame
        "owner_uid": 1000,
        "device_type": "ssh",
        "phase": Phase.DIALING,
        "refs": 1,
    }
    return [
        StateChanged(handle=7, state=RASCS.OpenPort, seq=1, time=1.5, tag="t1", **base),
        StateChanged(
            handle=7,
            state=RASCS.Disconnected,
            error=651,
            detail="refused",
            notify=Notify.DISCONNECTION,
            seq=2,
            time=2.5,
            **base,
        ),
        EntryChanged(action="imported", names=("a", "b"), seq=3, time=3.0),
        HookRan(
            handle=7,
            entry="x",
            stage=HookStage.PRE_UP,
            hook="10-x",
            path="/p",
            outcome=HookOutcome.TIMED_OUT,
            exit_status=-9,
            seq=4,
            time=4.0,
        ),
    ]


def wire(events: list[Event]) -> bytes:
    """What the daemon writes for these events: head, first comment, one chunk per frame (a
    keep-alive between two), the terminating chunk."""
    out = HEAD + chunk(FIRST)
    for i, event in enumerate(events):
        out += make_item(event, encode_json(event)).chunk
        if i == 1:
            out += chunk(b": keepalive\n\n")
    return out + b"0\r\n\r\n"


def feed_in_pieces(data: bytes, size: int) -> tuple[list[Event], StreamParser]:
    parser = StreamParser()
    out: list[Event] = []
    for i in range(0, len(data), size):
        out += parser.feed(data[i : i + size])
    return out, parser


def test_every_split_of_the_stream_gives_the_same_events() -> None:
    events = sample_events()
    data = wire(events)
    for size in [*range(1, 40), 97, 512, len(data)]:
        got, parser = feed_in_pieces(data, size)
        assert got == events, size
        assert parser.ended
        parser.eof()  # a clean end: no error


def test_a_frame_split_over_chunks_and_several_frames_in_one_chunk() -> None:
    one, two = (make_item(e, encode_json(e)).frame for e in sample_events()[:2])
    data = HEAD + chunk(one[:10]) + chunk(one[10:] + two) + b"0\r\n\r\n"
    got, parser = feed_in_pieces(data, 7)
    assert [e.seq for e in got] == [1, 2]
    assert parser.ended


def test_a_stream_cut_without_its_last_chunk_is_lost() -> None:
    data = wire(sample_events())[:-5]  # the terminating chunk never came
    got, parser = feed_in_pieces(data, 50)
    assert [e.seq for e in got] == [1, 2, 3, 4]
    with pytest.raises(ApiError) as err:
        parser.eof()
    assert err.value.code == ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE
    assert "lost" in str(err.value.detail)


def test_an_error_answer_raises_its_code_once_its_body_is_complete() -> None:
    body = json.dumps({"error": 87, "message": "bad", "detail": "since"}).encode()
    data = b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    parser = StreamParser()
    assert parser.feed(data[:-3]) == []
    with pytest.raises(ApiError) as err:
        parser.feed(data[-3:])
    assert (err.value.code, err.value.status, err.value.detail) == (87, 400, "since")


@pytest.mark.parametrize(
    "data",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",  # not HTTP
        HEAD + b"zz\r\nhello\r\n",  # chunk size not hex
        HEAD + b"5\r\nhelloXX",  # chunk without its CRLF
        HEAD + chunk(b"data: {not json\n\n"),
        HEAD + chunk(b'data: {"kind": "state", "seq": 1}\n\n'),  # fields missing
        HEAD + chunk(b'data: {"kind": "hook", "stage": "sideways"}\n\n'),
        b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * 70_000,  # a head that never ends
    ],
)
def test_hostile_bytes_end_the_stream_with_711_not_a_crash(data: bytes) -> None:
    parser = StreamParser()
    with pytest.raises(ApiError) as err:
        parser.feed(data)
        parser.eof()
    assert err.value.code == ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE


def test_unknown_kinds_and_comments_give_nothing() -> None:
    data = HEAD + chunk(b'id: 9\nevent: future\ndata: {"kind": "future", "x": 1}\n\n')
    data += chunk(b": just a comment\n\n") + chunk(b"event: nothing\n\n")
    assert StreamParser().feed(data) == []


def test_multiline_data_and_no_space_after_the_colon() -> None:
    event = sample_events()[2]
    text = json.dumps(encode(event), indent=1).encode()  # several lines of JSON
    frame = b"".join(b"data:" + line + b"\n" for line in text.split(b"\n")) + b"\n"
    assert StreamParser().feed(HEAD + chunk(frame)) == [event]


def test_an_http_1_0_answer_ends_with_its_connection() -> None:
    events = sample_events()
    body = b"".join(make_item(e, encode_json(e)).frame for e in events)
    parser = StreamParser()
    got = parser.feed(b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + body[:-1])
    got += parser.feed(body[-1:])
    assert got == events
    parser.eof()
    assert parser.ended


# -- the codec ------------------------------------------------------------------------------


def test_decoded_fields_have_their_declared_types() -> None:
    """tests/test_events.py round-trips every kind by equality, which an enum's plain value
    also passes (RASCS.Disconnected == 6): here the decoded objects are the enum members, the
    tuples and the frozen instances themselves."""
    events = sample_events()
    state = decode(json.loads(json.dumps(encode(events[1]))))
    assert isinstance(state, StateChanged)
    assert state.state is RASCS.Disconnected and state.phase is Phase.DIALING
    assert state.notify is Notify.DISCONNECTION
    hook = decode(json.loads(json.dumps(encode(events[3]))))
    assert isinstance(hook, HookRan) and hook.outcome is HookOutcome.TIMED_OUT
    assert hook.stage is HookStage.PRE_UP
    entry = decode(json.loads(json.dumps(encode(events[2]))))
    assert isinstance(entry, EntryChanged) and entry.names == ("a", "b")
    assert type(entry.names) is tuple
    with pytest.raises(dataclasses.FrozenInstanceError):  # decoded events stay frozen
        entry.action = "x"  # type: ignore[misc]


def test_codec_refuses_missing_fields_and_values_outside_enums() -> None:
    data = encode(sample_events()[0])
    with pytest.raises(ValueError, match="handle"):
        decode({k: v for k, v in data.items() if k != "handle"})
    with pytest.raises(ValueError):
        decode({**data, "phase": "floating"})
    with pytest.raises(ValueError):
        decode({**data, "state": 12345})
    assert decode({**data, "kind": "unheard-of"}) is None
    assert decode({**data, "kind": ["state"]}) is None


def test_the_bus_numbers_a_fresh_event_and_copies_a_published_one(tmp_path: Any) -> None:
    from openras.events.bus import EventBus
    from openras.store import Store

    store = Store(tmp_path / "s.db")
    bus = EventBus(store)
    first = bus.publish(EntryChanged(action="created", entry="a"))
    again = bus.publish(first)  # published twice: the first keeps its number
    assert (first.seq, again.seq) == (1, 2)
    assert again is not first and first.time <= again.time
    store.close()


class _Sink:
    """A subscriber that records the order it was offered events in."""

    def __init__(self, name: str, order: list[str], bus: Any = None) -> None:
        self.name, self.order, self.bus, self.closed = name, order, bus, False

    def _offer(self, item: Any) -> None:
        self.order.append(self.name)
        if self.bus is not None:  # goes away while the event is being fanned out
            self.close()

    def close(self) -> None:
        self.closed = True
        self.bus._drop(self)


def test_the_bus_writes_one_client_process_streams_together(tmp_path: Any) -> None:
    """Grouped by client process, processes in the order they subscribed: each event wakes a
    client process once (its readers would otherwise preempt the daemon mid-fan-out)."""
    from openras.events.bus import EventBus
    from openras.store import Store

    store = Store(tmp_path / "s.db")
    bus = EventBus(store)
    order: list[str] = []
    sinks = {name: _Sink(name, order) for name in ("a1", "b1", "a2", "c1", "b2", "a3")}
    for name, sink in sinks.items():
        bus.attach(sink, group=ord(name[0]))
    bus.publish(EntryChanged(action="created", entry="x"))
    assert order == ["a1", "a2", "a3", "b1", "b2", "c1"]
    # A sink leaving during a fan-out neither stops it nor makes anyone get the event twice.
    leaving = _Sink("b3", order, bus)
    bus.attach(leaving, group=ord("b"))
    order.clear()
    bus.publish(EntryChanged(action="created", entry="y"))
    assert order == ["a1", "a2", "a3", "b1", "b2", "b3", "c1"]
    assert bus.subscribers == 6
    # A process whose streams all left loses its place: it comes last when it is back.
    for name in ("a1", "a2", "a3"):
        bus._drop(sinks[name])
    bus.attach(sinks["a1"], group=ord("a"))
    order.clear()
    bus.publish(EntryChanged(action="created", entry="z"))
    assert order == ["b1", "b2", "c1", "a1"]
    store.close()


# -- against a real daemon --------------------------------------------------------------------


READ_KINDS = """
import json
from openras.client.api import Client
kinds = []
with Client(autostart=False) as c:
    for e in c.events(since={since}{filters}):
        kinds.append(e.kind.value)
        if getattr(e, "entry", None) == "last":
            break
print(json.dumps(kinds))
"""


def test_each_stream_shows_its_user_what_they_may_see(daemon_factory: Any) -> None:
    """Root's unfiltered stream (no filter call in the fan-out) has everything; a user's
    stream lacks root's refused dial; a filter keeps only its kinds."""
    daemon = daemon_factory('[daemon]\nallow_users = "*"\n')
    with Client(home=str(daemon.home), autostart=False) as c:
        since = int(c.call("GET", "/v1/health")["last_seq"])
        with pytest.raises(ApiError):
            c.call("POST", "/v1/connections", json={"entry": "no-such-entry"})
        c.call("POST", "/v1/entries", json={"name": "last", "lines": [["DEVICE", "ssh"]]})
    root = daemon.python_json(READ_KINDS.format(since=since, filters=""))
    nobody = daemon.python_json(READ_KINDS.format(since=since, filters=""), uid=65534)
    only = daemon.python_json(READ_KINDS.format(since=since, filters=', kinds="entry"'))
    assert root == ["refused", "entry"]
    assert nobody == ["entry"]
    assert only == ["entry"]


def test_both_readers_get_the_daemons_events_in_order(daemon: Any) -> None:
    with Client(home=str(daemon.home), autostart=False) as c:
        since = int(c.call("GET", "/v1/health")["last_seq"])
        for name in ("one", "two", "three"):
            c.call("POST", "/v1/entries", json={"name": name, "lines": [["DEVICE", "ssh"]]})
        got = []
        for event in c.events(since=since, kinds="entry"):
            got.append(event)
            if len(got) == 3:
                break
    assert [getattr(e, "entry", None) for e in got] == ["one", "two", "three"]
    assert [e.seq for e in got] == sorted(e.seq for e in got)

    async def read() -> list[Event]:
        out = []
        async with AsyncClient(home=str(daemon.home), autostart=False) as a:
            async for event in a.events(since=since, kinds=["entry"]):
                out.append(event)
                if len(out) == 3:
                    return out
        return out

    assert asyncio.run(asyncio.wait_for(read(), 30)) == got


def test_a_refused_stream_raises_the_daemons_code(daemon: Any) -> None:
    with Client(home=str(daemon.home), autostart=False) as c:
        with pytest.raises(ApiError) as err:
            next(iter(c.events(since=-5)))
    assert err.value.code == ErrorCode.ERROR_INVALID_PARAMETER

    async def read() -> None:
        async with AsyncClient(home=str(daemon.home), autostart=False) as a:
            async for _ in a.events(since=-5):
                pass

    with pytest.raises(ApiError) as aerr:
        asyncio.run(asyncio.wait_for(read(), 30))
    assert aerr.value.code == ErrorCode.ERROR_INVALID_PARAMETER


def test_a_stopped_daemon_ends_the_stream_cleanly(daemon_factory: Any) -> None:
    d = daemon_factory()
    events = Client(home=str(d.home), autostart=False).events(kinds="daemon")
    result: list[Any] = []

    async def read() -> None:
        async with AsyncClient(home=str(d.home), autostart=False) as a:
            async for event in a.events(kinds="daemon"):
                result.append(event)

    async def main() -> None:
        task = asyncio.create_task(read())
        await asyncio.sleep(0.5)
        await asyncio.to_thread(d.stop)
        await asyncio.wait_for(task, 30)  # ends, without raising

    asyncio.run(main())
    assert [getattr(e, "action", "") for e in result] == ["stopping"]
    with pytest.raises(ApiError):  # the daemon is gone: the blocking reader cannot connect
        next(iter(events))


def test_an_idle_connection_the_daemon_closed_is_not_used_for_a_post(daemon_factory: Any) -> None:
    d = daemon_factory("[daemon]\nidle_timeout = 0.5\n")
    with Client(home=str(d.home), autostart=False) as c:
        c.call("GET", "/v1/health")
        time.sleep(1.5)  # the daemon closes the kept-alive connection
        # A POST is never sent twice: it must go out on a live connection at once.
        c.call("POST", "/v1/entries", json={"name": "after-idle", "lines": [["DEVICE", "ssh"]]})
        names = [e["name"] for e in c.call("GET", "/v1/entries")]
    assert "after-idle" in names


def test_an_http_1_0_client_gets_bare_frames_from_the_ring(daemon: Any) -> None:
    """The ring keeps each event as its chunk; an HTTP/1.0 client gets the frame cut out."""
    import socket

    with Client(home=str(daemon.home), autostart=False) as c:
        since = int(c.call("GET", "/v1/health")["last_seq"])
        c.call("POST", "/v1/entries", json={"name": "old-client", "lines": [["DEVICE", "ssh"]]})
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(daemon.socket))
        s.sendall(b"GET /v1/events?since=%d&kinds=entry HTTP/1.0\r\n\r\n" % since)
        parser = StreamParser()
        got: list[Event] = []
        raw = b""
        while not got:
            data = s.recv(65536)
            assert data, "the daemon closed the stream before the event"
            raw += data
            got += parser.feed(data)
    assert [getattr(e, "entry", "") for e in got] == ["old-client"]
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert body.startswith(b": openras events")  # no chunk sizes: bare SSE frames
    assert b"\n\nid: " in body and body.endswith(b"\n\n")
