"""Run a Windows program written for pywin32 unchanged: ``openras-python program.py [args]``
(or ``python -m openras.compat program.py``, or ``-m module``).

Inside the runner only, ``import win32ras`` (and ``win32wnet``, ``pywintypes``,
``win32netcon``, ``winnetwk``, ``win2kras``) resolves to openras's module of that name through
a meta-path finder put first on ``sys.meta_path``. Nothing is installed as a top-level module,
so a real pywin32 elsewhere is never shadowed; the program then runs as ``__main__`` with
``sys.argv`` and ``sys.path[0]`` as ``python program.py`` would set them.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import runpy
import sys
from collections.abc import Sequence
from types import ModuleType

# pywin32 name -> openras module
ALIASES: dict[str, str] = {
    "win32ras": "openras.win32ras",
    "win2kras": "openras.win32ras",  # pywin32's Windows 2000 RAS extras (GetEapUserIdentity)
    "win32wnet": "openras.win32wnet",
    "pywintypes": "openras.pywintypes",
    "win32netcon": "openras.win32netcon",
    "winnetwk": "openras.winnetwk",
}

USAGE = "usage: openras-python PROGRAM.py [ARG...] | -m MODULE [ARG...]"


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target
        self._spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system stamped the alias's spec on the module: give it its own back, so
        # openras.<module> stays what it is (reload, pickling) under both names.
        if self._spec is not None:
            module.__spec__ = self._spec


class AliasFinder(importlib.abc.MetaPathFinder):
    """Finds the pywin32 module names in :data:`ALIASES` and nothing else."""

    def __init__(self, aliases: dict[str, str] | None = None) -> None:
        self.aliases = dict(ALIASES if aliases is None else aliases)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        module = self.aliases.get(fullname)
        if module is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module))


def install() -> AliasFinder:
    """Put the finder first on ``sys.meta_path`` (once); returns it."""
    for finder in sys.meta_path:
        if isinstance(finder, AliasFinder):
            return finder
    finder = AliasFinder()
    sys.meta_path.insert(0, finder)
    return finder


def run(argv: Sequence[str]) -> None:
    """Run ``argv[0]`` (a file, or ``-m module``) as ``__main__`` with the aliases installed."""
    args = list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not args else sys.stdout)
        raise SystemExit(2 if not args else 0)
    install()
    if args[0] == "-m":
        if len(args) < 2:
            print(USAGE, file=sys.stderr)
            raise SystemExit(2)
        sys.argv = [args[1], *args[2:]]
        sys.path.insert(0, os.getcwd())
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return
    program = args[0]
    if not os.path.exists(program):
        print(f"openras-python: can't open file {program!r}", file=sys.stderr)
        raise SystemExit(2)
    sys.argv = args
    sys.path.insert(0, os.path.dirname(os.path.abspath(program)))
    runpy.run_path(program, run_name="__main__")


def main() -> None:
    run(sys.argv[1:])
