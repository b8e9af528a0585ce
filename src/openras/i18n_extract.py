"""Babel extractor for ``codes/locales/en.py``: every message of ``MESSAGES`` becomes a catalog
entry whose translator comment names the code (``691 ERROR_AUTHENTICATION_FAILURE``).

Named in ``babel.cfg``; run through ``scripts/update-catalogs.sh``. The module only reads the
file's syntax tree, so extraction needs nothing of openras at run time.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from .codes.errors import WN, ErrorCode


def _names(code: int) -> str:
    names = [c.name for c in ErrorCode if c == code] + [w.name for w in WN if w == code]
    return " / ".join(names)


def extract_error_messages(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and isinstance(key.value, int)
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    comment = f"{key.value} {_names(key.value)}".rstrip()
                    yield value.lineno, None, value.value, [comment]
