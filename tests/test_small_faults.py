"""The smaller faults of issue 10, item 11: odd phonebook files, OPENRAS_HOME's mode, and
passwords on the command line."""

from __future__ import annotations

import os
import stat
from typing import Any

from harness import PYTHON

WARNING = "password on the command line can be read by other users"


def test_fifo_as_phonebook_is_refused_at_once(daemon: Any) -> None:
    fifo = daemon.home / "fifo.pbk"
    os.mkfifo(fifo)
    # a reader that waited for a writer would never come back (the test's timeout would fire)
    r = daemon.rasdial("lab", f"/PHONEBOOK:{fifo}", timeout=30)
    assert "621" in r.stdout + r.stderr and "not a regular file" in r.stdout + r.stderr, r


def test_huge_phonebook_is_a_clear_622(daemon: Any) -> None:
    big = daemon.home / "big.pbk"
    with open(big, "w") as f:
        f.write("[pad]\r\n")
        line = "K=" + "x" * 1000 + "\r\n"
        for _ in range(20 * 1024):  # 20 MB, past the 16 MiB a phonebook may have
            f.write(line)
        f.write("[lab]\r\nDEVICE=ssh\r\n")
    r = daemon.rasdial("lab", f"/PHONEBOOK:{big}", timeout=60)
    out = r.stdout + r.stderr
    assert "622" in out and "larger than 16 MiB" in out and "623" not in out, out


def test_openras_home_keeps_its_mode(daemon_factory: Any) -> None:
    d = daemon_factory(start=False)
    os.chmod(d.home, 0o700)
    d.start()
    assert stat.S_IMODE(os.stat(d.home).st_mode) == 0o700
    assert d.client().call("GET", "/v1/health")["pid"]


def test_password_on_the_command_line_warns(daemon: Any) -> None:
    daemon.client().call(
        "POST",
        "/v1/entries",
        json={"name": "x", "lines": [["DEVICE", "ssh"], ["PhoneNumber", "127.0.0.1:1"]]},
    )
    on_line = daemon.rasdial("x", "u", "secret", timeout=60)
    assert WARNING in on_line.stderr, on_line
    prompted = daemon.run(
        [PYTHON, "-m", "openras.cli.rasdial", "x", "u", "*"], input="secret\n", timeout=60
    )
    assert WARNING not in prompted.stderr, prompted
    creds = daemon.cli("credentials", "x", "--user", "u", "--password", "secret")
    assert WARNING in creds.stderr and "--password-stdin" in creds.stderr, creds
    stdin = daemon.run(
        [PYTHON, "-m", "openras", "credentials", "x", "--user", "u", "--password-stdin"],
        input="secret\n",
    )
    assert stdin.returncode == 0 and WARNING not in stdin.stderr, stdin
    net = daemon.cli("net", "use", r"\\127.0.0.1\share", "secret", "/USER:u", timeout=60)
    assert WARNING in net.stderr, net
