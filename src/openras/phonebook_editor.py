"""RasCreatePhonebookEntry / RasEditPhonebookEntry without a dialog box: the entry opens in the
user's editor (``$VISUAL``, else ``$EDITOR``, else Debian's ``sensible-editor``) as one
``rasphone.pbk`` section in a private temporary file, and is stored when the editor exits
successfully with the entry saved.

Cancelling: the editor fails, or leaves a new entry's template untouched or the file without a
section → ERROR_CANCELLED (1223). No editor can be found → ERROR_INTERACTIVE_MODE (703): the
entry needs the user and there is no way to ask. A malformed section → ERROR_CORRUPT_PHONEBOOK
(625), nothing stored.

The editor runs as the calling user, in their terminal (the program is theirs), from an argv
list: the variable is split like a shell word list but no shell runs it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import tempfile

from . import phonebook
from .codes import ErrorCode, RasError

NEW_ENTRY = (
    "; A new phonebook entry in rasphone.pbk syntax: name it in [brackets], fill in the\n"
    "; lines, save and quit. Quit without saving to cancel.\n"
    "[New Connection]\n"
    "MEDIA=none\n"
    "DEVICE=ssh\n"
    "PhoneNumber=\n"
)


def editor_argv() -> list[str]:
    for var in ("VISUAL", "EDITOR"):
        value = os.environ.get(var, "").strip()
        if value:
            return shlex.split(value)
    for name in ("sensible-editor", "editor"):
        found = shutil.which(name)
        if found:
            return [found]
    raise RasError(ErrorCode.ERROR_INTERACTIVE_MODE, "no editor: set VISUAL or EDITOR")


def edit(text: str, *, template: bool) -> phonebook.Entry:
    """Open ``text`` in the editor and return the one entry saved. ``template``: ``text`` is a
    new entry's template, so leaving it unchanged cancels."""
    argv = editor_argv()
    with tempfile.TemporaryDirectory(prefix="openras-pbk-") as d:  # mode 0700
        path = os.path.join(d, "entry.pbk")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            done = subprocess.run([*argv, path], check=False)
        except OSError as exc:
            raise RasError(
                ErrorCode.ERROR_INTERACTIVE_MODE, f"cannot run the editor {argv[0]}: {exc}"
            ) from None
        if done.returncode != 0:
            raise RasError(ErrorCode.ERROR_CANCELLED, f"the editor exited with {done.returncode}")
        edited = phonebook.read_text(path)
    if template and edited == text:
        raise RasError(ErrorCode.ERROR_CANCELLED, "the new entry was not saved")
    entries = phonebook.parse(edited, "the edited entry")
    if not entries:
        raise RasError(ErrorCode.ERROR_CANCELLED, "no entry was saved")
    if len(entries) > 1:
        raise RasError(
            ErrorCode.ERROR_CORRUPT_PHONEBOOK, "the edited text holds more than one entry"
        )
    return entries[0]


def write_file(path: str, entries: list[phonebook.Entry]) -> None:
    """Replace a phonebook file with ``entries`` (atomically; a new file is made 0600)."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600
    fd, tmp = tempfile.mkstemp(prefix=".pbk-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(phonebook.serialize(entries))
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def store_in_file(path: str, entry: phonebook.Entry, old_name: str | None) -> None:
    """Add ``entry`` to the file (``old_name`` None), or put it in place of ``old_name``."""
    try:
        entries = phonebook.read_file(path)
    except RasError as exc:
        if exc.code != ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK or old_name is not None:
            raise
        entries = []  # creating an entry creates the phonebook, as Windows does
    names = [e.name for e in entries]
    if entry.name in names and entry.name != old_name:
        raise RasError(ErrorCode.ERROR_ALREADY_ASSIGNED, f"entry {entry.name!r} exists")
    if old_name is None:
        entries.append(entry)
    else:
        entries[names.index(old_name)] = entry
    write_file(path, entries)
