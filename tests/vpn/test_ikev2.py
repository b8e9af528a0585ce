"""IKEv2 against a real strongSwan server (tests/peers/strongswan.py), the daemon in the client
netns."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import vici
from peers.strongswan import SERVER_ADDR, Pki
from ras_helpers import events_of, wait_for

from openras.codes import RASCS

from .ikev2_lab import DPD_BOUND, IKEV2_STATES, RETRANSMIT_BUDGET, Lab, names

LabFactory = Callable[..., Lab]


def bind_win32ras(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> Any:
    from openras import win32ras

    monkeypatch.setenv("OPENRAS_HOME", str(lab.daemon.home))
    monkeypatch.setattr(win32ras, "_client", None)
    return win32ras


def charon_vici(lab: Lab) -> Any:
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(str(lab.daemon.home / "charon" / "charon.vici"))
    return vici.Session(sock)


def leftovers(lab: Lab) -> dict[str, Any]:
    """What the daemon's charon and the client namespace still hold for openras connections."""
    session = charon_vici(lab)
    sas = [name for sa in session.list_sas() for name in sa]
    conns = [name for conn in session.list_conns() for name in conn]
    shared = [k.decode() for k in session.get_shared().get("keys", [])]
    return {
        "sas": sas,
        "conns": conns,
        "shared": shared,
        "vip": "10.77.0." in lab.links(),
        "routes": "198.51.100.0/24" in lab.routes(),
    }


NOTHING_LEFT = {"sas": [], "conns": [], "shared": [], "vip": False, "routes": False}


def test_async_dial_states_traffic_projection_hangup(
    ikev2_lab: LabFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = ikev2_lab()
    lab.entry()
    win32ras = bind_win32ras(lab, monkeypatch)
    calls: list[tuple[int, int]] = []
    final = threading.Event()

    def callback(hrasconn: int, msg: int, state: int, error: int, extended: int) -> None:
        calls.append((state, error))
        if state == win32ras.RASCS_Connected or error:
            final.set()

    handle, rc = win32ras.Dial(
        None, None, ("Office VPN", "", "", lab.server.user, lab.server.password, ""), callback
    )
    assert rc == 0 and handle
    assert final.wait(60), calls
    assert [RASCS(s).name for s, _ in calls] == IKEV2_STATES, calls
    assert all(e == 0 for _, e in calls)

    # TCP through the tunnel to the server's LAN (nothing else leads there).
    assert lab.http_get() == lab.server.token
    proj = win32ras.GetProjectionInfo(handle, win32ras.RASP_PppIp)
    assert proj["szIpAddress"].startswith("10.77.0.")
    assert proj["szServerIpAddress"] == SERVER_ADDR
    assert (proj["szDnsAddress"], proj["szDns2Address"]) == ("198.51.100.53", "198.51.100.54")
    status = lab.status(handle)
    assert status is not None
    device = status.device
    assert device.interface == "ipsec0" and device.local_address == proj["szIpAddress"]
    assert device.routes == ("198.51.100.0/24",) and device.default_route is False
    assert device.dns == ("198.51.100.53", "198.51.100.54")
    assert device.resolv_conf is not None
    resolv = Path(device.resolv_conf)
    assert resolv.read_text().count("nameserver") == 2
    assert win32ras.EnumConnections()[0][1:3] == ("Office VPN", "vpn")

    win32ras.HangUp(handle)

    def gone() -> bool:
        try:
            win32ras.GetConnectStatus(handle)
            return False
        except win32ras.error as exc:
            assert exc.winerror == 6
            return True

    wait_for(gone, 20)
    # Nothing reached the callback after Connected.
    assert [RASCS(s).name for s, _ in calls] == IKEV2_STATES
    assert leftovers(lab) == NOTHING_LEFT
    assert not resolv.exists()
    assert lab.http_get(timeout=2) == ""


def test_wrong_password_is_691_in_authenticate(ikev2_lab: LabFactory) -> None:
    lab = ikev2_lab()
    lab.entry()
    handle, notes = lab.dial(password="not-the-password")
    assert names(notes)[-1] == "Authenticate" and notes[-1].error == 691, notes
    lab.hangup(handle)
    assert leftovers(lab) == NOTHING_LEFT


def test_server_certificate_from_another_ca_is_13801(ikev2_lab: LabFactory) -> None:
    lab = ikev2_lab()
    other = Pki(lab.server.dir / "other", "another CA")
    lab.entry(IkeCaCertificate=other.ca_cert)
    handle, notes = lab.dial()
    assert notes[-1].error == 13801, notes
    assert "Authenticated" not in names(notes)
    lab.hangup(handle)
    # The right CA, loaded for a second entry, must not make the first one pass afterwards:
    lab.entry("Good", IkeCaCertificate=lab.server.ca_cert)
    good, notes = lab.dial("Good")
    assert notes[-1].state is RASCS.Connected, notes
    again, notes = lab.dial()
    assert notes[-1].error == 13801, notes
    lab.hangup(again)
    lab.hangup(good)
    assert leftovers(lab) == NOTHING_LEFT


def test_certificate_not_naming_the_host_dialed_is_13801(ikev2_lab: LabFactory) -> None:
    lab = ikev2_lab(sans=["other.test"], server_id="other.test")
    lab.entry()
    handle, notes = lab.dial()
    assert notes[-1].error == 13801 and "does not name" in notes[-1].detail, notes
    lab.hangup(handle)
    assert leftovers(lab) == NOTHING_LEFT


def test_server_absent_is_809_within_the_bound(ikev2_lab: LabFactory) -> None:
    lab = ikev2_lab()
    lab.server.kill()
    lab.entry(IkeTimeout=15)
    # charon gives up after its retransmissions; the dial's time-out is the outer bound.
    handle, notes = lab.dial(timeout=RETRANSMIT_BUDGET + 10)
    assert notes[-1].error == 809, notes
    assert names(notes)[-1] == "ConnectDevice"
    lab.hangup(handle)


def test_delete_from_the_server_is_629_at_once(ikev2_lab: LabFactory) -> None:
    lab = ikev2_lab()
    lab.entry(IkeDpdSeconds=0)  # no DPD: only the DELETE can tell
    handle, notes = lab.dial()
    assert notes[-1].state is RASCS.Connected
    lab.server.swanctl("--terminate", "--ike", "rw")
    status = wait_for(lambda: (s := lab.status(handle)) and s.phase.value == "failed" and s, 10)
    assert status.error == 629 and status.state is RASCS.Disconnected
    assert any(e.get("notify") == "disconnection" for e in events_of(lab.daemon, handle))
    lab.hangup(handle)
    assert leftovers(lab) == NOTHING_LEFT


def test_server_killed_link_lost_then_redial(ikev2_lab: LabFactory) -> None:
    lab = ikev2_lab()
    lab.entry(RedialOnLinkFailure=1, RedialSeconds=1, RedialAttempts=20)
    handle, notes = lab.dial()
    assert notes[-1].state is RASCS.Connected
    lab.server.kill()
    lost = wait_for(
        lambda: [e for e in events_of(lab.daemon, handle) if e.get("notify") == "disconnection"],
        DPD_BOUND + 5,
    )
    assert lost[0]["state"] == int(RASCS.Disconnected) and lost[0]["error"] == 829, lost
    lab.server.start_charon()  # the server comes back: a redial attempt reaches it
    reconnected = wait_for(
        lambda: [
            e
            for e in events_of(lab.daemon, handle)
            if e["seq"] > lost[0]["seq"] and e.get("notify") == "connection"
        ],
        60,
    )
    assert reconnected[0]["handle"] == handle
    assert any(e["kind"] == "redial" for e in events_of(lab.daemon, handle))
    wait_for(lambda: lab.http_get(timeout=2) == lab.server.token, 10)
    lab.hangup(handle)
    assert leftovers(lab) == NOTHING_LEFT


WINDOWS_PBK = """[Office VPN]
Encoding=1
PBVersion=8
Type=2
AutoLogon=0
UseRasCredentials=1
LowDateTime=-1857207168
HighDateTime=31073498
DialParamsUID=2189203
Guid=1F2A7C6E4B0D4E5F9A8B7C6D5E4F3A2B
VpnStrategy=7
ExcludedProtocols=0
LcpExtensions=1
DataEncryption=256
SwCompression=0
NegotiateMultilinkAlways=0
SkipDoubleDialDialog=0
DialMode=0
OverridePref=15
RedialAttempts=3
RedialSeconds=60
IdleDisconnectSeconds=0
RedialOnLinkFailure=0
CallbackMode=0
CustomDialDll=
CustomDialFunc=
CustomRasDialDll=
ForceSecureCompartment=0
DisableIKENameEkuCheck=0
AuthenticateServer=0
ShareMsFilePrint=1
BindMsNetClient=1
SharedPhoneNumbers=0
GlobalDeviceSettings=0
PrerequisiteEntry=
PrerequisitePbk=
PreferredPort=VPN2-0
PreferredDevice=WAN Miniport (IKEv2)
PreferredBps=0
PreferredHwFlow=0
PreferredProtocol=0
PreferredCompression=0
PreferredSpeaker=0
PreferredMdmProtocol=0
PreviewUserPw=1
PreviewDomain=0
PreviewPhoneNumber=0
ShowDialingProgress=1
ShowMonitorIconInTaskBar=1
CustomAuthKey=26
AuthRestrictions=128
IpPrioritizeRemote=0
IpInterfaceMetric=0
IpHeaderCompression=0
IpAddress=0.0.0.0
IpDnsAddress=0.0.0.0
IpDns2Address=0.0.0.0
IpWinsAddress=0.0.0.0
IpWins2Address=0.0.0.0
IpAssign=1
IpNameAssign=1
IpDnsFlags=0
IpNBTFlags=1
TcpWindowSize=0
UseFlags=2
IpSecFlags=0
IpDnsSuffix=
Ipv6Assign=1
Ipv6Address=::
Ipv6PrefixLength=0
Ipv6PrioritizeRemote=1
Ipv6InterfaceMetric=0
Ipv6NameAssign=1
Ipv6DnsAddress=::
Ipv6Dns2Address=::
Ipv6Prefix=0000000000000000
Ipv6InterfaceId=0000000000000000
DisableClassBasedDefaultRoute=0
DisableMobility=0
NetworkOutageTime=1800
IDI=
IDR=
ImsConfig=0
IdiType=0
IdrType=0
ProvisionType=0
PreSharedKey=
CacheCredentials=1
NumCustomPolicy=0
NumEku=0
UseMachineRootCert=0
Disable_IKEv2_Fragmentation=0
PlumbIKEv2TSAsRoutes=0
NumServers=0
RouteVersion=1
NumRoutes=0
NumNrptRules=0
AutoTiggerCapable=0
NumAppIds=0
NumClassicAppIds=0
SecurityDescriptor=
ApnInfoProviderId=
ApnInfoUsername=
ApnInfoPassword=
ApnInfoAccessPoint=
ApnInfoAuthentication=1
ApnInfoCompression=0
DeviceComplianceEnabled=0
DeviceComplianceSsoEnabled=0
DeviceComplianceSsoEku=
DeviceComplianceSsoIssuer=
WebAuthEnabled=0
WebAuthClientId=
FlagsSet=0
Options=0
DisableDefaultDnsSuffixes=0
NumTrustedNetworks=0
NumDnsSearchSuffixes=0
PowershellCreatedProfile=0
ProxyFlags=0
ProxySettingsModified=0
ProvisioningAuthority=
AuthTypeOTP=0
GREKeyDefined=0
NumPerAppTrafficFilters=0
AlwaysOnCapable=0
DeviceTunnel=0
PrivateNetwork=1
ManagementApp=
IkeCaCertificate={ca}

NETCOMPONENTS=
ms_msclient=1
ms_server=1

MEDIA=rastapi
Port=VPN2-0
Device=WAN Miniport (IKEv2)

DEVICE=vpn
PhoneNumber={server}
AreaCode=
CountryCode=0
CountryID=0
UseDialingRules=0
Comment=
FriendlyName=
LastSelectedPhone=0
PromoteAlternates=0
TryNextAlternateOnFail=1
"""


def test_windows_pbk_rasdial_then_other_processes_list_use_and_hang_up(
    ikev2_lab: LabFactory, tmp_path: Path
) -> None:
    lab = ikev2_lab()
    pbk = tmp_path / "rasphone.pbk"
    pbk.write_bytes(
        WINDOWS_PBK.format(ca=lab.server.ca_cert, server=SERVER_ADDR).replace("\n", "\r\n").encode()
    )
    os.chmod(tmp_path, 0o755)
    dialed = lab.daemon.rasdial(
        "Office VPN", lab.server.user, lab.server.password, f"/PHONEBOOK:{pbk}"
    )
    assert dialed.returncode == 0, dialed.stdout + dialed.stderr
    assert "Office VPN" in dialed.stdout
    # The dialing process has exited; another one lists the connection and uses the tunnel.
    listed = lab.daemon.rasdial()
    assert listed.returncode == 0 and "Office VPN" in listed.stdout, listed.stdout
    enum = lab.daemon.python_json(
        "import json; from openras import win32ras; print(json.dumps(win32ras.EnumConnections()))"
    )
    assert [c[1:3] for c in enum] == [["Office VPN", "vpn"]]
    assert lab.http_get() == lab.server.token
    # A third one hangs it up.
    hung = lab.daemon.rasdial("Office VPN", "/DISCONNECT")
    assert hung.returncode == 0, hung.stdout + hung.stderr
    wait_for(lambda: not lab.ras().connections(), 20)
    assert leftovers(lab) == NOTHING_LEFT


def test_password_never_leaves_the_daemon_in_clear(ikev2_lab: LabFactory) -> None:
    lab = ikev2_lab()
    lab.entry()
    handle, notes = lab.dial()
    assert notes[-1].state is RASCS.Connected
    secret = lab.server.password
    charon_pid = int((lab.daemon.home / "charon" / "run" / "charon.pid").read_text())
    for what in ("cmdline", "environ"):
        assert secret.encode() not in Path(f"/proc/{charon_pid}/{what}").read_bytes()
    with lab.daemon.client() as c:
        status = json.dumps(c.call("GET", f"/v1/connections/{handle}"))
    events = json.dumps(events_of(lab.daemon))
    lab.hangup(handle)
    logs = lab.daemon.log() + (lab.daemon.home / "charon" / "charon.log").read_text(
        errors="replace"
    )
    for text in (status, events, logs):
        assert secret not in text
    for path in (lab.daemon.home / "charon").rglob("*"):
        if path.is_file() and not path.is_socket():
            assert secret.encode() not in path.read_bytes(), path
