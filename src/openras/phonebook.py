"""Phonebook entries and the Windows ``rasphone.pbk`` syntax.

An entry is an ordered list of ``(key, value)`` lines, exactly as in the file: keys are
case-sensitive (``Device`` and ``DEVICE`` are different keys), repeated keys and unknown
keys are kept, and order is kept, so import → export gives back the same entries.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .codes import ErrorCode, RasError

# Entry names: Windows forbids none of these in practice, but a name must fit on the
# `[section]` line and must not start with '.' (that prefix marks a phone-number dial).
_NAME_RE = re.compile(r"^[^\[\]\r\n\x00]{1,256}$")
_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
_LINE_BREAK = re.compile(r"\r\n|\n|\r")
MAX_LINES = 4096
MAX_VALUE = 4096


def check_name(name: str) -> str:
    if (
        not isinstance(name, str)
        or not _NAME_RE.match(name)
        or name.startswith(".")
        or name != name.strip()
    ):
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"invalid entry name {name!r}")
    return name


def check_line(key: str, value: str) -> tuple[str, str]:
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"invalid phonebook key {key!r}")
    if not isinstance(value, str) or len(value) > MAX_VALUE or any(c in value for c in "\r\n\x00"):
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"invalid value for {key}")
    return key, value


@dataclass
class Entry:
    name: str
    lines: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_name(self.name)
        if len(self.lines) > MAX_LINES:
            raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, "too many lines in entry")
        self.lines = [check_line(k, v) for k, v in self.lines]

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` (case-sensitive)."""
        for k, v in self.lines:
            if k == key:
                return v
        return default

    def get_int(self, key: str, default: int) -> int:
        value = self.get(key)
        if value is None or value.strip() == "":
            return default
        try:
            return int(value.strip(), 0)
        except ValueError:
            raise RasError(
                ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{self.name}: {key}={value!r} is not a number"
            ) from None

    def set(self, key: str, value: str) -> None:
        """Replace the first ``key`` line, or append one."""
        self.update({key: value})

    def update(self, properties: Mapping[str, str]) -> None:
        """:meth:`set` for many keys in one linear pass; the line limit is checked first, so a
        huge request is refused before any work and the entry is left as it was."""
        first: dict[str, int] = {}
        for i, (k, _) in enumerate(self.lines):
            first.setdefault(k, i)
        added = sum(1 for k in properties if k not in first)
        if len(self.lines) + added > MAX_LINES:
            raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, "too many lines in entry")
        checked = [check_line(k, v) for k, v in properties.items()]
        for key, value in checked:
            at = first.get(key)
            if at is None:
                first[key] = len(self.lines)
                self.lines.append((key, value))
            else:
                self.lines[at] = (key, value)

    @property
    def size(self) -> int:
        """Bytes of the entry as file text (its quota measure)."""
        return len(self.name.encode()) + sum(len(k) + len(v.encode()) + 3 for k, v in self.lines)

    @property
    def device(self) -> str:
        """The registry key: ``DEVICE`` lowercased; a VPN entry (``Type=2``) without it is
        ``vpn``."""
        device = (self.get("DEVICE") or "").lower()
        if not device and (self.get("Type") or "").strip() == "2":
            return "vpn"
        return device

    @property
    def properties(self) -> dict[str, str]:
        """First value of each key, in order (a convenience view; ``lines`` is authoritative)."""
        out: dict[str, str] = {}
        for k, v in self.lines:
            out.setdefault(k, v)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "device": self.device,
            "lines": [list(kv) for kv in self.lines],
            "properties": self.properties,
        }


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "utf-16"):
        if enc == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("cp1252", errors="replace")


def parse(data: bytes | str, source: str = "<phonebook>") -> list[Entry]:
    """Parse a ``rasphone.pbk`` text. Raises RasError(625) naming the line on malformed input."""
    text = _decode(data) if isinstance(data, bytes) else data
    if "\x00" in text:
        raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{source}: NUL byte in phonebook")
    entries: list[Entry] = []
    seen: set[str] = set()
    current: tuple[str, list[tuple[str, str]]] | None = None

    def close() -> None:
        if current is not None:
            try:
                entries.append(Entry(current[0], current[1]))
            except RasError as exc:
                raise RasError(
                    ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{source}: {exc.detail}"
                ) from None

    # Only CR/LF end lines (str.splitlines would also split on \x0b, \x1c, U+2028, ...).
    for number, raw in enumerate(_LINE_BREAK.split(text), 1):
        line = raw.strip()
        if not line or line.startswith(";") or line.startswith("#"):
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise RasError(
                    ErrorCode.ERROR_CORRUPT_PHONEBOOK,
                    f"{source}:{number}: malformed section header",
                )
            close()
            name = line[1:-1]
            if name in seen:
                raise RasError(
                    ErrorCode.ERROR_CORRUPT_PHONEBOOK,
                    f"{source}:{number}: entry [{name}] appears twice",
                )
            seen.add(name)
            current = (name, [])
            continue
        if "=" not in line:
            raise RasError(
                ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{source}:{number}: expected KEY=VALUE"
            )
        if current is None:
            raise RasError(
                ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{source}:{number}: key outside any [entry]"
            )
        key, value = raw.lstrip().split("=", 1)
        key = key.strip()
        if not _KEY_RE.match(key):
            raise RasError(
                ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{source}:{number}: invalid key {key!r}"
            )
        current[1].append((key, value.rstrip("\r\n")))
        if len(current[1]) > MAX_LINES:
            raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{source}:{number}: entry too long")
    close()
    return entries


def serialize(entries: Iterable[Entry]) -> str:
    out: list[str] = []
    for entry in entries:
        out.append(f"[{entry.name}]")
        out.extend(f"{k}={v}" for k, v in entry.lines)
        out.append("")
    return "\r\n".join(out) + ("\r\n" if out else "")


MAX_FILE = 16 * 1024 * 1024


def read_text(path: str) -> str:
    """A phonebook file's text (any of the encodings Windows writes), at most 16 MiB."""
    try:
        # O_NONBLOCK: a FIFO or a device opens at once instead of waiting for a writer; only a
        # regular file is read.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise RasError(ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK, f"{path}: not a regular file")
            data = f.read(MAX_FILE + 1)
    except FileNotFoundError:
        raise RasError(ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK, f"{path}: no such file") from None
    except OSError as exc:
        raise RasError(ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK, f"{path}: {exc.strerror}") from None
    if len(data) > MAX_FILE:
        raise RasError(ErrorCode.ERROR_CANNOT_LOAD_PHONEBOOK, f"{path}: larger than 16 MiB")
    return _decode(data)


def read_file(path: str) -> list[Entry]:
    return parse(read_text(path), path)


def find(entries: Iterable[Entry], name: str) -> Entry:
    for entry in entries:
        if entry.name == name:
            return entry
    raise RasError(ErrorCode.ERROR_CANNOT_FIND_PHONEBOOK_ENTRY, f"no entry named {name!r}")
