"""The management-interface parser against transcripts recorded from openvpn 2.6
(tests/vpn/transcripts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openras.ras.link import openvpn_mgmt as m

HERE = Path(__file__).parent / "transcripts"


def load(name: str) -> bytes:
    return (HERE / f"{name}.txt").read_bytes()


def feed_in_pieces(data: bytes, size: int) -> list[m.Event]:
    parser = m.MgmtParser()
    events: list[m.Event] = []
    for i in range(0, len(data), size):
        events += parser.feed(data[i : i + size])
    return events


def states(events: list[m.Event]) -> list[str]:
    return [e.name + (f",{e.desc}" if e.desc else "") for e in events if isinstance(e, m.State)]


def test_successful_connection_transcript() -> None:
    events = m.MgmtParser().feed(load("good"))
    assert isinstance(events[0], m.Info) and "Management Interface Version" in events[0].text
    assert isinstance(events[1], m.Hold)
    assert states(events) == ["WAIT", "AUTH", "ASSIGN_IP", "ADD_ROUTES", "CONNECTED,SUCCESS"]
    connected = [e for e in events if isinstance(e, m.State)][-1]
    assert connected.state is m.OvpnState.CONNECTED
    assert (connected.local_ip, connected.remote_ip, connected.remote_port) == (
        "10.8.0.2",
        "192.0.2.1",
        "1194",
    )
    need = [e for e in events if isinstance(e, m.Password)]
    assert need == [m.Password(m.PasswordKind.NEED, "Auth", True, "Need 'Auth' username/password")]
    assert [e.text for e in events if isinstance(e, m.Success)][:2] == [
        "real-time state notification set to ON",
        "real-time log notification set to ON",
    ]
    logs = [e for e in events if isinstance(e, m.Log)]
    assert any(e.flags == "I" and "Peer Connection Initiated" in e.text for e in logs)
    assert any("PUSH_REPLY" in e.text for e in logs)
    counts = [e for e in events if isinstance(e, m.ByteCount)]
    assert counts and counts[0] == m.ByteCount(2239, 1360)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000])
def test_split_reads_give_the_same_events(size: int) -> None:
    for name in ("good", "bad", "tls", "dead"):
        data = load(name)
        assert feed_in_pieces(data, size) == m.MgmtParser().feed(data)


def test_wrong_password_transcript() -> None:
    events = m.MgmtParser().feed(load("bad"))
    failed = [e for e in events if isinstance(e, m.Password) and e.kind is m.PasswordKind.FAILED]
    assert failed and failed[0].realm == "Auth"
    assert states(events)[-1] == "EXITING,auth-failure"


def test_tls_verify_failure_transcript() -> None:
    events = m.MgmtParser().feed(load("tls"))
    assert any(isinstance(e, m.Log) and e.text.startswith("VERIFY ERROR") for e in events)
    assert states(events)[-1] == "RECONNECTING,tls-error"
    assert isinstance(events[-1], m.Hold) and events[-1].text.endswith(":1")


def test_dead_server_transcript() -> None:
    events = m.MgmtParser().feed(load("dead"))
    assert states(events)[-2:] == ["CONNECTED,SUCCESS", "RECONNECTING,ping-restart"]


def test_partial_line_waits_and_crlf_is_stripped() -> None:
    parser = m.MgmtParser()
    assert parser.feed(b">STATE:1,CONN") == []
    (event,) = parser.feed(b"ECTED,SUCCESS,10.8.0.2,192.0.2.1,1194,,\r\n")
    assert isinstance(event, m.State) and event.desc == "SUCCESS" and event.local_ip == "10.8.0.2"


def test_other_lines() -> None:
    events = m.MgmtParser().feed(
        b">FATAL:Cannot open TUN\r\nERROR: unknown command\r\n>NEED-OK:x\r\n"
        b">STATE:1,NEWSTATE,,,,,,\r\nline\r\nEND\r\n>BYTECOUNT:x,2\r\n"
    )
    assert events == [
        m.Fatal("Cannot open TUN"),
        m.Error("unknown command"),
        m.Notification("NEED-OK", "x"),
        m.State(1, m.OvpnState.OTHER, "NEWSTATE", "", "", "", ""),
        m.ReplyLine("line"),
        m.End(),
        m.ByteCount(0, 2),
    ]


def test_runaway_line_is_cut() -> None:
    parser = m.MgmtParser()
    events = parser.feed(b">LOG:1,I," + b"x" * (m.MAX_LINE + 10))
    assert len(events) == 1 and isinstance(events[0], m.Log)
    assert parser.feed(b"\r\n") == [m.ReplyLine("")]


def test_credentials_are_quoted() -> None:
    cmds = m.credential_commands("Auth", 'al"ice', 'p\\w "x" y')
    assert cmds == b'username "Auth" "al\\"ice"\npassword "Auth" "p\\\\w \\"x\\" y"\n'
    assert m.credential_commands("Private Key", None, "k") == b'password "Private Key" "k"\n'
    with pytest.raises(ValueError):
        m.quote("a\nb")
