"""The event bus: one ordered stream, replay from any sequence number, slow subscribers cut off."""

from __future__ import annotations

import asyncio

from openras.codes import RASCS
from openras.events import (
    DaemonChanged,
    DialRefused,
    EventBus,
    EventKind,
    Phase,
    StateChanged,
    decode,
    encode,
)
from openras.store import Store


def make_bus(tmp_path, **kwargs) -> EventBus:
    return EventBus(Store(str(tmp_path / "db.sqlite")), **kwargs)


def ev(handle: int = 1, i: int = 0) -> StateChanged:
    """A state event of ``handle``, told apart by ``i`` (in extended_error)."""
    return StateChanged(
        handle=handle,
        entry="e",
        owner_uid=0,
        device_type="ssh",
        state=RASCS.OpenPort,
        extended_error=i,
        phase=Phase.DIALING,
        refs=1,
    )


async def test_sequence_numbers_are_ordered_and_survive_a_restart(tmp_path) -> None:
    bus = make_bus(tmp_path)
    seqs = [bus.publish(ev(1, i)).seq for i in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    bus.close_all()  # a clean stop
    again = make_bus(tmp_path)  # a new daemon process on the same database
    assert again.publish(ev(1)).seq == seqs[-1] + 1
    given = [again.publish(ev(1, i)).seq for i in range(3)]
    # Killed now (no clean stop, the last events maybe not in the log yet): the next
    # process never hands out a number it gave before.
    after_crash = make_bus(tmp_path)
    assert after_crash.publish(ev(1)).seq > given[-1]


async def test_resume_from_a_sequence_number_loses_nothing(tmp_path) -> None:
    bus = make_bus(tmp_path, replay=8)
    for i in range(20):
        bus.publish(ev(i % 2, i))
    # 5 is older than the 8-event ring: the rest comes from the log.
    sub = bus.subscribe(since=5)
    got = []
    while (item := await sub.next_encoded(0.01)) is not None:
        got.append(item[0].seq)
    assert got == list(range(6, 21))


async def test_filtered_subscription_sees_only_its_handle(tmp_path) -> None:
    bus = make_bus(tmp_path)
    sub = bus.subscribe(since=0, predicate=lambda e: getattr(e, "handle", None) == 2)
    for h in (1, 2, 3, 2):
        bus.publish(ev(h))
    got = []
    while (item := await sub.next_encoded(0.01)) is not None:
        got.append(item[0].handle)
    assert got == [2, 2]


async def test_slow_subscriber_is_cut_off_with_overflow_and_never_blocks_publish(tmp_path) -> None:
    bus = make_bus(tmp_path, queue_size=10)
    slow = bus.subscribe()
    fast = bus.subscribe()
    for i in range(50):  # never awaited by 'slow'
        bus.publish(ev(1, i))
        item = await fast.next_encoded(1)
        assert item is not None and item[0].extended_error == i
    assert slow.closed and bus.subscribers == 1
    delivered = []
    while (item := await slow.next_encoded(0.01)) is not None:
        delivered.append(item[0])
    assert delivered[-1].kind is EventKind.OVERFLOW
    last = delivered[-2].seq
    assert delivered[-1].resume_from == last
    # Resuming from resume_from gives exactly what the slow subscriber missed.
    resumed = bus.subscribe(since=last)
    rest = []
    while (item := await resumed.next_encoded(0.01)) is not None:
        rest.append(item[0].seq)
    assert rest == list(range(last + 1, bus.last_seq + 1))


async def test_waiting_subscriber_wakes_on_publish(tmp_path) -> None:
    bus = make_bus(tmp_path)
    sub = bus.subscribe()
    waiter = asyncio.create_task(sub.next_encoded(5))
    await asyncio.sleep(0.01)
    bus.publish(DaemonChanged(action="x", pid=1))
    item = await waiter
    assert item is not None and item[0].action == "x"


async def test_a_long_backlog_is_paged_with_cut_offs_and_nothing_is_skipped(tmp_path) -> None:
    bus = make_bus(tmp_path, replay=8, queue_size=5)  # log pages of 20 events
    for i in range(100):
        bus.publish(ev(1, i))
    since, seen, pages = 0, [], 0
    while True:
        sub = bus.subscribe(since=since)
        pages += 1
        cut = None
        while (item := await sub.next_encoded(0.01)) is not None:
            if item[0].kind is EventKind.OVERFLOW:
                cut = item[0].resume_from
            else:
                seen.append(item[0].seq)
        if cut is None:
            break
        since = cut
    assert seen == list(range(1, 101)) and pages > 2


def test_every_kind_round_trips_through_json(tmp_path) -> None:
    """encode/decode (the HTTP edge) lose nothing, encode_json (the daemon's event path) makes
    the same object, and a kind this version lacks decodes to None."""
    from openras.events import (
        EntryChanged,
        HangupStarted,
        HookOutcome,
        HookRan,
        HookStage,
        NetChanged,
        Notify,
        NotifyeeReport,
        Overflow,
        Redialing,
        ReferenceChanged,
        Released,
    )

    base = {
        "handle": 3,
        "entry": "e",
        "owner_uid": 7,
        "device_type": "ssh",
        "state": RASCS.Connected,
        "phase": Phase.CONNECTED,
        "refs": 2,
        "notify": Notify.CONNECTION,
        "seq": 9,
        "time": 1.5,
    }
    events = [
        StateChanged(**base, recovered=True),
        ReferenceChanged(**base, joined_uid=4),
        HangupStarted(**base, reason="r", error=631, detail="user"),
        Released(**base),
        Redialing(**base, attempt=1, attempts=3),
        EntryChanged(action="imported", names=("a", "b")),
        DaemonChanged(action="ready", pid=3),
        DialRefused(entry="x", uid=4, error=623, detail="no entry named 'x'"),
        NetChanged(
            action="connected", uid=1, local_name="Z:", remote_name=r"\\s\x", provider="smb"
        ),
        NotifyeeReport(notifyee="n", path="/p", operation="add", phase="pre", error="boom"),
        HookRan(
            handle=3,
            entry="e",
            stage=HookStage.PRE_DOWN,
            hook="10-x",
            path="/h/pre-down.d/10-x",
            outcome=HookOutcome.TIMED_OUT,
            exit_status=-9,
            duration=2.5,
        ),
        Overflow(seq=4, resume_from=4),
    ]
    import json

    assert {type(e) for e in events} == set(type(e) for e in events) and len(events) == len(
        EventKind
    )
    from openras.events.types import encode_json

    for event in events:
        data = json.loads(json.dumps(encode(event)))
        assert data["kind"] == event.kind.value
        assert decode(data) == event
        # The daemon's fast encoding (orjson from the dataclass) is the same JSON object.
        assert json.loads(encode_json(event)) == encode(event)
    assert encode(events[0])["state_name"] == "RASCS_Connected"
    assert decode({"kind": "from-the-future", "seq": 1}) is None
