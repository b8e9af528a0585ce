"""A dial's tag: the caller's random tag is echoed on the dial's first event, so a client
follows its dial from that event on, before the dial's answer reaches it (win32ras callbacks
are not held up by the POST's round trip)."""

from __future__ import annotations

from typing import Any

import pytest
from ras_helpers import events_of, ssh_entry, wait_for

from openras.client.api import ApiError, Client
from openras.client.follower import DialFollower
from openras.codes import RASCS, ErrorCode
from openras.events.types import Phase, ReferenceChanged, StateChanged

REFUSED = [["DEVICE", "ssh"], ["PhoneNumber", "127.0.0.1:1"], ["SshKnownHosts", "/dev/null"]]


def _dial(c: Client, entry: str, tag: str, user: str = "u", password: str = "p") -> int:
    body = {"entry": entry, "user": user, "password": password, "tag": tag}
    return int(c.call("POST", "/v1/connections", json=body)["handle"])


def test_only_the_dials_first_event_carries_its_tag(daemon: Any) -> None:
    with Client(home=str(daemon.home), autostart=False) as c:
        c.call("POST", "/v1/entries", json={"name": "refused", "lines": REFUSED})
        handle = _dial(c, "refused", "Tag_0123-abc")
        states = wait_for(
            lambda: (
                [e for e in events_of(daemon, handle) if e["kind"] == "state" and e["error"]]
                and [e for e in events_of(daemon, handle) if e["kind"] == "state"]
            )
        )
        c.call("DELETE", f"/v1/connections/{handle}")
    assert states[0]["state"] == RASCS.OpenPort
    assert [e["tag"] for e in states] == ["Tag_0123-abc"] + [""] * (len(states) - 1)
    assert len(states) >= 2  # and the failure came untagged


@pytest.mark.parametrize("tag", ["with space", "x" * 65, "caf\u00e9", "a/b", "t\n"])
def test_a_tag_outside_its_alphabet_or_length_is_refused_with_87(daemon: Any, tag: str) -> None:
    with Client(home=str(daemon.home), autostart=False) as c:
        c.call("POST", "/v1/entries", json={"name": "refused", "lines": REFUSED})
        with pytest.raises(ApiError) as err:
            _dial(c, "refused", tag)
        assert err.value.code == ErrorCode.ERROR_INVALID_PARAMETER
        assert c.call("GET", "/v1/connections") == []  # refused before any handle existed


def test_a_join_carries_the_joiners_tag(daemon: Any, sshd: Any) -> None:
    ssh_entry(daemon, sshd, "lab")
    with Client(home=str(daemon.home), autostart=False) as c:
        handle = _dial(c, "lab", "first", sshd.user, sshd.password)
        wait_for(lambda: c.call("GET", f"/v1/connections/{handle}")["phase"] == "connected")
        assert _dial(c, "lab", "second", sshd.user, sshd.password) == handle
        joined = wait_for(
            lambda: [e for e in events_of(daemon, handle) if e["kind"] == "reference"]
        )
        c.call("DELETE", f"/v1/connections/{handle}")
        c.call("DELETE", f"/v1/connections/{handle}")
    assert [e["tag"] for e in joined][:1] == ["second"]
    tagged = [e["tag"] for e in events_of(daemon, handle) if e["tag"]]
    assert tagged == ["first", "second"]


def _state(handle: int, seq: int, state: RASCS, tag: str = "", error: int = 0) -> StateChanged:
    return StateChanged(
        handle=handle,
        entry="e",
        owner_uid=0,
        device_type="ssh",
        state=state,
        error=error,
        phase=Phase.DIALING,
        refs=1,
        seq=seq,
        tag=tag,
    )


def test_a_tagged_follower_learns_its_handle_from_the_first_event() -> None:
    follower = DialFollower(0, 0, tag="mine")
    assert follower.feed(_state(5, 1, RASCS.OpenPort, tag="theirs")) == []
    assert follower.feed(_state(5, 2, RASCS.PortOpened)) == []  # another dial's handle
    notes = follower.feed(_state(9, 3, RASCS.OpenPort, tag="mine"))
    assert [(n.handle, n.state) for n in notes] == [(9, RASCS.OpenPort)]
    assert follower.handle == 9
    assert follower.feed(_state(5, 4, RASCS.Connected)) == []
    joined = ReferenceChanged(
        handle=9, entry="e", owner_uid=0, device_type="ssh", state=RASCS.OpenPort,
        phase=Phase.DIALING, refs=2, seq=5, tag="mine",
    )  # fmt: skip
    assert [n.handle for n in follower.feed(joined)] == [9]
    final = follower.feed(_state(9, 6, RASCS.Disconnected, error=651))
    assert [(n.error, n.final) for n in final] == [(651, True)] and follower.done


def test_the_answer_may_name_the_handle_first() -> None:
    follower = DialFollower(0, 0, tag="mine")
    follower.learn(9)
    assert [n.state for n in follower.feed(_state(9, 1, RASCS.OpenPort))] == [RASCS.OpenPort]
