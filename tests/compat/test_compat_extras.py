"""The rest of pywin32's win32ras / win32wnet as Windows programs call them, against a real
daemon: WNetGetResourceInformation / WNetGetResourceParent, CreatePhonebookEntry /
EditPhonebookEntry through $EDITOR, GetEapUserIdentity, and NCB / NCBBuffer / Netbios as
pywin32's netbios helper module uses them."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from openras import phonebook
from openras.codes import ErrorCode


@pytest.fixture
def wnet(daemon: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from openras import win32wnet

    monkeypatch.setenv("OPENRAS_HOME", str(daemon.home))
    monkeypatch.setattr(win32wnet, "_client", None)
    return win32wnet


def resource(wnet: Any, remote: str, provider: str | None = None) -> Any:
    nr = wnet.NETRESOURCE()
    nr.lpRemoteName = remote
    nr.lpProvider = provider
    return nr


def shape(nr: Any) -> tuple[Any, ...]:
    return (nr.lpRemoteName, nr.lpProvider, nr.dwType, nr.dwDisplayType, nr.dwUsage)


def test_resource_information_and_parent(wnet: Any) -> None:
    w = wnet
    share = (w.RESOURCETYPE_DISK, w.RESOURCEDISPLAYTYPE_SHARE, w.RESOURCEUSAGE_CONNECTABLE)
    server = (w.RESOURCETYPE_ANY, w.RESOURCEDISPLAYTYPE_SERVER, w.RESOURCEUSAGE_CONTAINER)
    folder = (
        w.RESOURCETYPE_DISK,
        w.RESOURCEDISPLAYTYPE_DIRECTORY,
        w.RESOURCEUSAGE_CONNECTABLE | w.RESOURCEUSAGE_CONTAINER,
    )
    smb = "openras SMB"
    info, rest = w.WNetGetResourceInformation(resource(w, r"\\files@1445\data\q3\report.txt"))
    assert shape(info) == (r"\\files@1445\data", smb, *share) and rest == r"\q3\report.txt"
    info, rest = w.WNetGetResourceInformation(resource(w, r"\\files\data"))
    assert shape(info) == (r"\\files\data", smb, *share) and rest is None
    info, rest = w.WNetGetResourceInformation(resource(w, r"\\files", smb))
    assert shape(info) == (r"\\files", smb, *server) and rest is None
    info, rest = w.WNetGetResourceInformation(resource(w, "sftp://u@host:2222/srv/www"))
    assert shape(info) == ("sftp://u@host:2222/srv/www", "openras SFTP", *folder)

    parent = w.WNetGetResourceParent(resource(w, r"\\files\data\q3\2026", smb))
    assert shape(parent) == (r"\\files\data\q3", smb, *folder)
    parent = w.WNetGetResourceParent(parent)
    assert shape(parent) == (r"\\files\data", smb, *share)
    parent = w.WNetGetResourceParent(parent)
    assert shape(parent) == (r"\\files", smb, *server)
    parent = w.WNetGetResourceParent(parent)
    assert shape(parent) == (
        smb,
        smb,
        w.RESOURCETYPE_ANY,
        w.RESOURCEDISPLAYTYPE_NETWORK,
        w.RESOURCEUSAGE_CONTAINER,
    )
    root = w.WNetGetResourceParent(parent)
    assert (root.lpRemoteName, root.lpProvider, root.dwDisplayType) == (
        None,
        None,
        w.RESOURCEDISPLAYTYPE_ROOT,
    )
    parent = w.WNetGetResourceParent(resource(w, "sftp://u@host/srv/www"))
    assert shape(parent) == ("sftp://u@host/srv", "openras SFTP", *folder)

    for nr, code in (
        (resource(w, r"\\files\data", "Microsoft Windows Network"), ErrorCode.ERROR_BAD_PROVIDER),
        (resource(w, "sftp://host/x", smb), ErrorCode.ERROR_BAD_NET_NAME),
        (resource(w, "ftp://host/x"), ErrorCode.ERROR_BAD_NET_NAME),
        (resource(w, ""), ErrorCode.ERROR_BAD_NET_NAME),
    ):
        for func in (w.WNetGetResourceInformation, w.WNetGetResourceParent):
            with pytest.raises(w.error) as e:
                func(nr)
            assert (e.value.winerror, e.value.funcname) == (code, func.__name__)


EDITOR = """#!/bin/sh
# A user at the editor: reads what openras opened, writes the entry they mean.
cp "$1" "{seen}"
cat > "$1" <<'PBK'
{text}
PBK
"""


def editor(tmp_path: Path, text: str, name: str = "editor.sh") -> Path:
    script = tmp_path / name
    script.write_text(EDITOR.format(seen=tmp_path / f"{name}.seen", text=text))
    script.chmod(0o700)
    return script


def test_create_and_edit_phonebook_entries_in_the_editor(
    win32ras: Any, daemon: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv(
        "EDITOR",
        str(editor(tmp_path, "[office]\nMEDIA=none\nDEVICE=ssh\nPhoneNumber=127.0.0.1:2222")),
    )
    win32ras.CreatePhonebookEntry(0)
    assert "[New Connection]" in (tmp_path / "editor.sh.seen").read_text()
    assert "office" in win32ras.EnumEntries()
    with daemon.client() as c:
        lines = c.call("GET", "/v1/entries/office")["lines"]
    assert ["PhoneNumber", "127.0.0.1:2222"] in lines

    # Editing: the editor gets the entry as it is, and a rename in [section] renames it.
    monkeypatch.setenv(
        "EDITOR",
        str(
            editor(
                tmp_path,
                "[office-vpn]\nMEDIA=none\nDEVICE=ssh\nPhoneNumber=10.0.0.1:22",
                "edit.sh",
            )
        ),
    )
    win32ras.EditPhonebookEntry(0, None, "office")
    assert "PhoneNumber=127.0.0.1:2222" in (tmp_path / "edit.sh.seen").read_text()
    names = win32ras.EnumEntries()
    assert "office-vpn" in names and "office" not in names

    # A phonebook file: created on the first entry, edited in place.
    pbk = tmp_path / "user.pbk"
    monkeypatch.setenv("EDITOR", str(editor(tmp_path, "[lab]\nMEDIA=none\nDEVICE=ssh", "f.sh")))
    win32ras.CreatePhonebookEntry(0, str(pbk))
    assert [e.name for e in phonebook.read_file(str(pbk))] == ["lab"]
    assert pbk.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv(
        "EDITOR", str(editor(tmp_path, "[lab]\nMEDIA=none\nDEVICE=ssh\nPhoneNumber=x", "g.sh"))
    )
    win32ras.EditPhonebookEntry(0, str(pbk), "lab")
    assert phonebook.read_file(str(pbk))[0].get("PhoneNumber") == "x"

    # Cancelling, a broken entry, a missing one, no editor at all.
    monkeypatch.setenv("EDITOR", "false")
    with pytest.raises(win32ras.error) as e:
        win32ras.CreatePhonebookEntry(0)
    assert (e.value.winerror, e.value.funcname) == (1223, "RasCreatePhonebookEntry")
    monkeypatch.setenv("EDITOR", "true")  # leaves the template as it was
    with pytest.raises(win32ras.error) as e:
        win32ras.CreatePhonebookEntry(0)
    assert e.value.winerror == ErrorCode.ERROR_CANCELLED
    monkeypatch.setenv("EDITOR", str(editor(tmp_path, "[broken\nx", "bad.sh")))
    with pytest.raises(win32ras.error) as e:
        win32ras.CreatePhonebookEntry(0)
    assert e.value.winerror == ErrorCode.ERROR_CORRUPT_PHONEBOOK
    with pytest.raises(win32ras.error) as e:
        win32ras.EditPhonebookEntry(0, None, "nosuch")
    assert (e.value.winerror, e.value.funcname) == (623, "RasEditPhonebookEntry")
    monkeypatch.delenv("EDITOR")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(win32ras.error) as e:
        win32ras.CreatePhonebookEntry(0)
    assert e.value.winerror == ErrorCode.ERROR_INTERACTIVE_MODE
    assert sorted(win32ras.EnumEntries()) == ["office-vpn"]


def test_get_eap_user_identity_answers_as_windows_without_eap(
    win32ras: Any, daemon: Any, tmp_path: Path
) -> None:
    with daemon.client() as c:
        c.call("POST", "/v1/entries", json={"name": "vpn", "lines": [["DEVICE", "ssh"]]})
    for args in (
        (None, "vpn", win32ras.RASEAPF_NonInteractive),
        (None, "vpn", 0, None),
    ):
        with pytest.raises(win32ras.error) as e:
            win32ras.GetEapUserIdentity(*args)
        assert (e.value.winerror, e.value.funcname) == (780, "RasGetEapUserIdentity")
    pbk = tmp_path / "a.pbk"
    pbk.write_text("[other]\r\nDEVICE=ssh\r\n")
    with pytest.raises(win32ras.error) as e:
        win32ras.GetEapUserIdentity(str(pbk), "other", 0)
    assert e.value.winerror == ErrorCode.ERROR_INVALID_FUNCTION_FOR_ENTRY
    for book, name in ((None, "nosuch"), (str(pbk), "vpn")):
        with pytest.raises(win32ras.error) as e:
            win32ras.GetEapUserIdentity(book, name, 0)
        assert e.value.winerror == ErrorCode.ERROR_CANNOT_FIND_PHONEBOOK_ENTRY


NETBIOS_PROGRAM = r"""
# What pywin32's netbios helper does (NCB = win32wnet.NCB, NCBStruct over NCBBuffer, Netbios
# packing and unpacking around win32wnet.Netbios), and the MAC-address sample that uses it.
import struct
import win32wnet

NCBENUM, NCBRESET, NRC_GOODRET, NRC_ILLCMD = 0x37, 0x32, 0x00, 0x03
NCB = win32wnet.NCB


class NCBStruct:
    def __init__(self, items):
        self._format = "".join(i[0] for i in items)
        self._items = items
        self._buffer_ = win32wnet.NCBBuffer(struct.calcsize(self._format))
        for fmt, name in items:
            self.__dict__[name] = 0 if len(fmt) == 1 else b"\0" * int(fmt[:-1])

    def _pack(self):
        self._buffer_[:] = struct.pack(self._format, *(self.__dict__[n] for _, n in self._items))

    def _unpack(self):
        for (_, name), v in zip(self._items, struct.unpack(self._format, self._buffer_)):
            self.__dict__[name] = v


def Netbios(ncb):
    ob = ncb.Buffer
    ours = hasattr(ob, "_pack")
    if ours:
        ob._pack()
    try:
        return win32wnet.Netbios(ncb)
    finally:
        if ours:
            ob._unpack()


ncb = NCB()
ncb.Command = NCBENUM
lana = NCBStruct([("B", "length"), ("255s", "lana")])
ncb.Buffer = lana
ncb.Callname = b"*"
rc = Netbios(ncb)
print(rc, ncb.Retcode, ncb.Cmd_cplt, ncb.Bufflen, lana.length, repr(ncb.Callname))
ncb.Reset()
ncb.Command = NCBRESET
print(Netbios(ncb), ncb.Command, ncb.Buffer)
"""


def test_ncb_and_netbios_answer_not_supported_through_the_runner(tmp_path: Path) -> None:
    program = tmp_path / "mac.py"
    program.write_text(NETBIOS_PROGRAM)
    src = str(Path(__file__).resolve().parents[2] / "src")
    run = subprocess.run(
        [sys.executable, "-m", "openras.compat", str(program)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin", "OPENRAS_NO_AUTOSTART": "1"},
    )
    assert run.returncode == 0, run.stderr
    first, second = run.stdout.splitlines()
    # NRC_ILLCMD in the return value, Retcode and Cmd_cplt; the buffer untouched (no LANAs
    # invented); Callname space padded to NCBNAMSZ.
    assert first == f"3 3 3 256 0 {b'*' + b' ' * 15!r}"
    assert second == "3 50 None"


def test_ncb_fields_are_checked_like_pywin32s() -> None:
    from openras import win32wnet

    ncb = win32wnet.NCB()
    with pytest.raises(OverflowError):
        ncb.Lana_num = 256
    with pytest.raises(AttributeError):
        ncb.Nonsense = 1
    with pytest.raises(ValueError):
        win32wnet.NCBBuffer(70000)
    with pytest.raises(TypeError):
        win32wnet.Netbios(object())
    assert struct.calcsize("B255s") == len(win32wnet.NCBBuffer(256))
