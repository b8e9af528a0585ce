"""The C framing (``src/openras/ppp/_hdlc.c``) under AddressSanitizer and UBSan: built from its
source with both sanitizers, then fed hostile reads and odd batches in a child process that has
the sanitizer runtimes preloaded. Any read or write out of bounds, or any undefined behaviour,
ends the child with the sanitizer's report; what the C returns is checked too (a round trip,
and a stop that is always a flag of the read)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from peers import have_program, require

SOURCE = Path(__file__).resolve().parents[2] / "src" / "openras" / "ppp" / "_hdlc.c"

CHILD = r"""
import random, sys
sys.path.insert(0, sys.argv[1])
import _hdlc  # the sanitized build, not the package's

rng = random.Random(int(sys.argv[2]))
ALPHABET = [0x7E, 0x7D, 0x5E, 0x5D, 0x21, 0x57, 0xFF, 0x03, 0x00, 0x11, 0x20]

def octets(n):
    return bytes(rng.choice(ALPHABET) if rng.random() < 0.5 else rng.randrange(256)
                 for _ in range(n))

for _ in range(4000):
    # A hostile read: any octets, decoded between any two of its flags.
    data = octets(rng.randrange(0, 3200))
    flags = [i for i, c in enumerate(data) if c == 0x7E]
    if flags:
        first = rng.choice(flags)
        last = rng.choice([f for f in flags if f >= first])
        out = []
        stop, count = _hdlc.decode_frames(
            data, first, last, (0x21, 0x57), rng.randrange(4, 4000), out
        )
        assert first <= stop <= last and data[stop] == 0x7E and count == len(out)
    # A batch under any ACCM, and back when it is ACCM 0.
    packets = [octets(rng.randrange(1, 1600)) for _ in range(rng.randrange(0, 8))]
    accm = rng.choice([0, 0xFFFFFFFF, rng.randrange(1 << 32)])
    prefix = rng.choice([b"", b"\x21", b"\xff\x03\x00\x21"])
    wire = _hdlc.encode_frames(packets, prefix, accm)
    if packets and not accm and prefix == b"\x21":
        out = []
        assert _hdlc.decode_frames(wire, 0, len(wire) - 1, (0x21,), 1700, out) == (
            len(wire) - 1, len(packets))
        assert out == packets
print("clean")
"""


def _runtime(name: str) -> str:
    path = subprocess.run(
        ["gcc", f"-print-file-name={name}"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else ""


def test_c_framing_is_clean_under_address_and_undefined_behaviour_sanitizers(
    tmp_path: Path,
) -> None:
    require(have_program("gcc"), "gcc builds the sanitized C framing")
    asan, ubsan = _runtime("libasan.so"), _runtime("libubsan.so")
    require(bool(asan and ubsan), "gcc's sanitizer runtimes (libasan, libubsan)")
    include = sysconfig.get_paths()["include"]
    require(os.path.exists(os.path.join(include, "Python.h")), "Python's headers (python3-dev)")
    module = tmp_path / f"_hdlc{sysconfig.get_config_var('EXT_SUFFIX')}"
    build = subprocess.run(
        [
            *("gcc", "-g", "-O1", "-fsanitize=address,undefined"),
            *("-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-fPIC", "-shared"),
            *(f"-I{include}", str(SOURCE), "-o", str(module)),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    env = {
        **os.environ,
        "LD_PRELOAD": f"{asan} {ubsan}",
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:exitcode=99",
        "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=98",
    }
    env.pop("PYTHONPATH", None)  # only the sanitized module and the venv's fastcrc
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), "20261130"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = child.stderr[-4000:]
    assert child.returncode == 0 and child.stdout.strip() == "clean", report
    assert "AddressSanitizer" not in child.stderr and "runtime error" not in child.stderr, report
