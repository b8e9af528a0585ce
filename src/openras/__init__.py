"""openras: Remote Access Connection Manager and Multiple Provider Router for Linux."""

import os as _os
import sys as _sys
import sysconfig as _sysconfig

__version__ = "0.1.0"

# pip drops other packages' example scripts into the scripts directory (impacket installs
# smbclient.py, smbserver.py, ...), and Python puts a console script's own directory first on
# sys.path: `openras daemon` or `pytest` from a venv would then import impacket's smbclient.py
# in place of smbprotocol's smbclient package. Modules never come from the scripts directory.
_scripts = _os.path.realpath(_sysconfig.get_path("scripts"))
_sys.path[:] = [p for p in _sys.path if _os.path.realpath(p or _os.curdir) != _scripts]
