"""RASCONNSTATE values and the notification / projection constants (reference/ras.md §1, §5, §6)."""

from __future__ import annotations

from enum import IntEnum

RASCS_PAUSED = 0x1000
RASCS_DONE = 0x2000


class RASCS(IntEnum):
    OpenPort = 0
    PortOpened = 1
    ConnectDevice = 2
    DeviceConnected = 3
    AllDevicesConnected = 4
    Authenticate = 5
    AuthNotify = 6
    AuthRetry = 7
    AuthCallback = 8
    AuthChangePassword = 9
    AuthProject = 10
    AuthLinkSpeed = 11
    AuthAck = 12
    ReAuthenticate = 13
    Authenticated = 14
    PrepareForCallback = 15
    WaitForModemReset = 16
    WaitForCallback = 17
    Projected = 18
    StartAuthentication = 19
    CallbackComplete = 20
    LogonNetwork = 21
    SubEntryConnected = 22
    SubEntryDisconnected = 23
    ApplySettings = 24
    Interactive = RASCS_PAUSED
    RetryAuthentication = RASCS_PAUSED + 1
    CallbackSetByCaller = RASCS_PAUSED + 2
    PasswordExpired = RASCS_PAUSED + 3
    InvokeEapUI = RASCS_PAUSED + 4
    Connected = RASCS_DONE
    Disconnected = RASCS_DONE + 1

    @property
    def full_name(self) -> str:
        return f"RASCS_{self.name}"


def state_name(value: int) -> str:
    try:
        return RASCS(value).full_name
    except ValueError:
        return f"RASCS_{value:#x}"


class RASCSS(IntEnum):
    """Connection sub-states, valid only while Connected."""

    None_ = 0
    Dormant = 1
    Reconnecting = 2
    Reconnected = 0x2000


# RasConnectionNotification event flags.
RASCN_Connection = 0x1
RASCN_Disconnection = 0x2
RASCN_BandwidthAdded = 0x4
RASCN_BandwidthRemoved = 0x8
RASCN_Dormant = 0x10
RASCN_ReConnection = 0x20

# RasGetProjectionInfo kinds.
RASP_PppIp = 0x8021
RASP_PppIpv6 = 0x8057
RASP_PppLcp = 0xC021
RASP_Amb = 0x10000  # obsolete AMB projection; never configured here
RASP_Slip = 0x20000
RASP_Socks = 0x10001  # openras extension: the SOCKS5 listener an SSH link projects

# Authentication protocols reported in RASP_PppLcp.
RASLCPAP_PAP = 0xC023
RASLCPAP_SPAP = 0xC027
RASLCPAP_CHAP = 0xC223
RASLCPAP_EAP = 0xC227
RASLCPAD_CHAP_MD5 = 0x05
RASLCPAD_CHAP_MS = 0x80
RASLCPAD_CHAP_MSV2 = 0x81

# RASCONN flags.
RASCF_AllUsers = 0x1
RASCF_GlobalCreds = 0x2
RASCF_OwnerKnown = 0x4
RASCF_OwnerMatch = 0x8

# RASDIALEXTENSIONS options.
RDEOPT_PausedStates = 0x2
RDEOPT_DisableReconnect = 0x100
RDEOPT_NoUser = 0x200
