"""rasphone.pbk syntax: case-sensitive keys, order and unknown keys kept, malformed files → 625."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openras import phonebook
from openras.codes import ErrorCode, RasError

WINDOWS_PBK = (
    "[Office VPN]\r\n"
    "Encoding=1\r\n"
    "PBVersion=6\r\n"
    "Type=2\r\n"
    "VpnStrategy=7\r\n"
    "IpPrioritizeRemote=0\r\n"
    "Guid=8F6B1F4CD53A2F45A9E1B4B9D5C1E2F3\r\n"
    "\r\n"
    "NETCOMPONENTS=\r\n"
    "ms_msclient=1\r\n"
    "\r\n"
    "MEDIA=rastapi\r\n"
    "Port=VPN2-0\r\n"
    "Device=WAN Miniport (IKEv2)\r\n"
    "\r\n"
    "DEVICE=vpn\r\n"
    "PhoneNumber=vpn.example.test\r\n"
    "AreaCode=\r\n"
    "UnknownFutureKey=keep me\r\n"
    "\r\n"
    "[Dial-up]\r\n"
    "MEDIA=serial\r\n"
    "Port=/dev/ttyS0\r\n"
    "DEVICE=modem\r\n"
    "PhoneNumber=5551234\r\n"
)


def test_case_sensitive_keys_order_and_unknown_keys_kept() -> None:
    entries = phonebook.parse(WINDOWS_PBK.encode())
    assert [e.name for e in entries] == ["Office VPN", "Dial-up"]
    vpn = entries[0]
    # Device (the media's device name) and DEVICE (the device block marker) are different keys.
    assert vpn.get("Device") == "WAN Miniport (IKEv2)"
    assert vpn.get("DEVICE") == "vpn"
    assert vpn.device == "vpn"
    keys = [k for k, _ in vpn.lines]
    assert (
        keys.index("MEDIA")
        < keys.index("Device")
        < keys.index("DEVICE")
        < keys.index("UnknownFutureKey")
    )
    assert vpn.get("UnknownFutureKey") == "keep me"
    assert vpn.get("AreaCode") == ""


def test_round_trip_keeps_every_line() -> None:
    entries = phonebook.parse(WINDOWS_PBK)
    again = phonebook.parse(phonebook.serialize(entries))
    assert [(e.name, e.lines) for e in again] == [(e.name, e.lines) for e in entries]


def test_utf8_bom_and_utf16_are_read() -> None:
    text = "[Café]\r\nDEVICE=ssh\r\n"
    assert phonebook.parse(text.encode("utf-8-sig"))[0].name == "Café"
    assert phonebook.parse(text.encode("utf-16"))[0].name == "Café"


@pytest.mark.parametrize(
    "text, where",
    [
        ("DEVICE=ssh\r\n", "outside any [entry]"),
        ("[A]\r\nthis line has no equals sign\r\n", "expected KEY=VALUE"),
        ("[A]\r\nDEVICE=ssh\r\n[A]\r\nDEVICE=tcp\r\n", "appears twice"),
        ("[A\r\nDEVICE=ssh\r\n", "malformed section header"),
        ("[]\r\n", "malformed section header"),
        ("[A]\r\n bad key=1\r\n=value\r\n", "invalid key"),
        ("[A]\r\nDEVICE=ssh\x00\r\n", "NUL"),
    ],
)
def test_malformed_files_fail_with_625_and_name_the_line(text: str, where: str) -> None:
    with pytest.raises(RasError) as info:
        phonebook.parse(text, "test.pbk")
    assert info.value.code == ErrorCode.ERROR_CORRUPT_PHONEBOOK
    assert where in info.value.detail


def test_missing_file_is_621(tmp_path) -> None:
    with pytest.raises(RasError) as info:
        phonebook.read_file(str(tmp_path / "nope.pbk"))
    assert info.value.code == ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK


def test_unknown_entry_is_623() -> None:
    with pytest.raises(RasError) as info:
        phonebook.find(phonebook.parse(WINDOWS_PBK), "Nope")
    assert info.value.code == ErrorCode.ERROR_CANNOT_FIND_PHONEBOOK_ENTRY


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048) | st.text(max_size=2048))
def test_random_input_parses_or_fails_with_a_phonebook_code(data: bytes | str) -> None:
    try:
        entries = phonebook.parse(data)
    except RasError as exc:
        assert exc.code == ErrorCode.ERROR_CORRUPT_PHONEBOOK
        return
    # What parses must survive a round trip unchanged.
    assert [(e.name, e.lines) for e in phonebook.parse(phonebook.serialize(entries))] == [
        (e.name, e.lines) for e in entries
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,15}", fullmatch=True),
            st.text(
                alphabet=st.characters(
                    blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)
                ),
                max_size=40,
            ),
        ),
        max_size=30,
    )
)
def test_generated_entries_round_trip(lines: list[tuple[str, str]]) -> None:
    # Values with surrounding spaces are trimmed on the right by the parser, like Windows.
    lines = [(k, v.rstrip()) for k, v in lines]
    entry = phonebook.Entry("Generated", lines)
    parsed = phonebook.parse(phonebook.serialize([entry]))
    assert parsed[0].lines == lines
