"""Console scripts (openras, rasdial, pytest) run with the venv's scripts directory first on
sys.path, where impacket leaves its example smbclient.py: openras must still get smbprotocol's
smbclient package."""

from __future__ import annotations

import os
import subprocess
import sysconfig

import pytest
from harness import PYTHON

SCRIPTS = sysconfig.get_path("scripts")


def test_a_console_script_imports_smbprotocols_smbclient() -> None:
    if not os.path.exists(os.path.join(SCRIPTS, "smbclient.py")):
        pytest.skip("no smbclient.py in the scripts directory (impacket not installed here)")
    code = (
        "import sys, sysconfig; sys.path.insert(0, sysconfig.get_path('scripts')); "
        "import openras.mpr.providers.smb as smb; "
        "print(hasattr(smb.smbclient, 'reset_connection_cache'))"
    )
    out = subprocess.run(
        [PYTHON, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "True", out.stderr
