"""A peer's own /etc: its account files plus a view of everything else in the real /etc.

Bind-mounting single files over /etc/passwd (and shadow, group) does not last: useradd or a
package install writes a new file and renames it over the old one, and the kernel then detaches
every mount on the replaced file — in every namespace — so the peer suddenly sees the real file
and answers "invalid user". Instead, inside the peer's private mount namespace, a directory of
ours is bind-mounted over /etc as a whole: it holds the peer's account files, and for every other
name of the real /etc a symlink into a bind mount of the real /etc directory (symlinks of the
real /etc are copied as they are, so relative targets still resolve from /etc). Nothing renamed
inside the real /etc can detach the peer's /etc, and the rest of /etc stays live.

Use: write the files into ``<dir>/etc`` (see :func:`prepare`), then run
``PRIVATE_ETC + 'private_etc "<dir>"'`` as root inside the namespace (``unshare -m``).
"""

from __future__ import annotations

from pathlib import Path

PRIVATE_ETC = r"""
private_etc() {
    mkdir -p "$1/host-etc"
    mount --bind /etc "$1/host-etc"
    for f in /etc/* /etc/.[!.]*; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        name=${f##*/}
        [ -e "$1/etc/$name" ] || [ -L "$1/etc/$name" ] && continue
        if [ -L "$f" ]; then
            ln -s "$(readlink "$f")" "$1/etc/$name"
        else
            ln -s "$1/host-etc/$name" "$1/etc/$name"
        fi
    done
    mount --bind "$1/etc" /etc
}
"""


def prepare(directory: Path, files: dict[str, tuple[str, int]]) -> Path:
    """``directory/etc`` with ``files`` (name → (text, mode)); returns that etc directory."""
    etc = directory / "etc"
    etc.mkdir(mode=0o755, exist_ok=True)
    etc.chmod(0o755)
    for name, (text, mode) in files.items():
        (etc / name).write_text(text)
        (etc / name).chmod(mode)
    return etc
