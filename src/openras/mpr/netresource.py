"""NETRESOURCE and the WNet constants, with the values of reference/mpr.md §1 and §3.

The dataclass keeps the Windows field names (``dwScope``, ``lpRemoteName``…) so the JSON the
API speaks, the objects notifyees receive and pywin32's ``win32wnet.NETRESOURCE`` all read
the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

# -- dwScope -------------------------------------------------------------------------------
RESOURCE_CONNECTED = 1
RESOURCE_GLOBALNET = 2
RESOURCE_REMEMBERED = 3
RESOURCE_RECENT = 4
RESOURCE_CONTEXT = 5

# -- dwType --------------------------------------------------------------------------------
RESOURCETYPE_ANY = 0
RESOURCETYPE_DISK = 1
RESOURCETYPE_PRINT = 2
RESOURCETYPE_RESERVED = 0x8
RESOURCETYPE_UNKNOWN = 0xFFFFFFFF

# -- dwUsage -------------------------------------------------------------------------------
RESOURCEUSAGE_CONNECTABLE = 1
RESOURCEUSAGE_CONTAINER = 2
RESOURCEUSAGE_NOLOCALDEVICE = 0x4
RESOURCEUSAGE_SIBLING = 0x8
RESOURCEUSAGE_ATTACHED = 0x10
RESOURCEUSAGE_ALL = RESOURCEUSAGE_CONNECTABLE | RESOURCEUSAGE_CONTAINER | RESOURCEUSAGE_ATTACHED
RESOURCEUSAGE_RESERVED = 0x80000000

# -- dwDisplayType (winnetwk.h) ------------------------------------------------------------
RESOURCEDISPLAYTYPE_GENERIC = 0
RESOURCEDISPLAYTYPE_DOMAIN = 1
RESOURCEDISPLAYTYPE_SERVER = 2
RESOURCEDISPLAYTYPE_SHARE = 3
RESOURCEDISPLAYTYPE_FILE = 4
RESOURCEDISPLAYTYPE_GROUP = 5
RESOURCEDISPLAYTYPE_NETWORK = 6
RESOURCEDISPLAYTYPE_ROOT = 7
RESOURCEDISPLAYTYPE_SHAREADMIN = 8
RESOURCEDISPLAYTYPE_DIRECTORY = 9
RESOURCEDISPLAYTYPE_TREE = 10
RESOURCEDISPLAYTYPE_NDSCONTAINER = 11

# -- WNetGetUniversalName dwInfoLevel -------------------------------------------------------
UNIVERSAL_NAME_INFO_LEVEL = 1
REMOTE_NAME_INFO_LEVEL = 2

# -- dwFlags of WNetAddConnection2/3, dwAddFlags of NOTIFYADD -------------------------------
CONNECT_UPDATE_PROFILE = 0x1
CONNECT_UPDATE_RECENT = 0x2
CONNECT_TEMPORARY = 0x4
CONNECT_INTERACTIVE = 0x8
CONNECT_PROMPT = 0x10
CONNECT_NEED_DRIVE = 0x20
CONNECT_REFCOUNT = 0x40
CONNECT_REDIRECT = 0x80
CONNECT_LOCALDRIVE = 0x100
CONNECT_CURRENT_MEDIA = 0x200
CONNECT_DEFERRED = 0x400
CONNECT_COMMANDLINE = 0x800
CONNECT_CMD_SAVECRED = 0x1000
CONNECT_CRED_RESET = 0x2000
CONNECT_VALID_FLAGS = 0x3FFF  # every documented bit; anything else is ERROR_INVALID_PARAMETER

# -- NOTIFYINFO.dwNotifyStatus -------------------------------------------------------------
NOTIFY_PRE = 0x1
NOTIFY_POST = 0x2

# -- NPGetCaps (reference/mpr.md §6) --------------------------------------------------------
WNNC_CON_ADDCONNECTION = 0x1
WNNC_CON_CANCELCONNECTION = 0x2
WNNC_CON_GETCONNECTIONS = 0x4
WNNC_CON_ADDCONNECTION3 = 0x8
WNNC_CON_DEFER = 0x80
WNNC_ENUM_GLOBAL = 0x1
WNNC_ENUM_LOCAL = 0x2
WNNC_ENUM_CONTEXT = 0x4


@dataclass
class NETRESOURCE:
    dwScope: int = 0
    dwType: int = RESOURCETYPE_ANY
    dwDisplayType: int = RESOURCEDISPLAYTYPE_GENERIC
    dwUsage: int = 0
    lpLocalName: str | None = None
    lpRemoteName: str | None = None
    lpComment: str | None = None
    lpProvider: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> NETRESOURCE:
        """Known fields only; unknown keys are ignored (the API model rejects them earlier)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})


__all__ = [name for name in dir() if name.isupper() or name == "NETRESOURCE"]
