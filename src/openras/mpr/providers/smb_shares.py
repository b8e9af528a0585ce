"""Listing an SMB server's shares: NetShareEnum (level 1) over the server service RPC (srvsvc on
IPC$), with impacket — smbprotocol cannot list shares.

Blocking: call it from a worker thread. Credentials: those of a connection the caller already
has to that server, or none (an anonymous session, which Samba and most servers allow for
NetShareEnum).

Error codes: wrong credentials → ERROR_LOGON_FAILURE (1326); the server refuses the listing →
ERROR_ACCESS_DENIED (5); server unreachable or not speaking SMB → ERROR_BAD_NET_NAME (67), as
for a connect (smb.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from impacket.dcerpc.v5 import srvs, transport
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.nmb import NetBIOSError, NetBIOSTimeout
from impacket.smbconnection import SessionError, SMBConnection

from ...codes import ErrorCode, RasError

STYPE_DISKTREE, STYPE_PRINTQ, STYPE_MASK, STYPE_SPECIAL = 0, 1, 0xFF, 0x80000000
_LOGON_FAILURES = {0xC000006D, 0xC000006A, 0xC0000064, 0xC0000072, 0xC000006F, 0xC0000070}
_ACCESS_DENIED = {0xC0000022}


@dataclass(frozen=True)
class Share:
    name: str
    type: int  # STYPE_* with its flag bits
    remark: str

    @property
    def hidden(self) -> bool:
        """Administrative and ``$`` shares, which Windows leaves out of a server's listing."""
        return bool(self.type & STYPE_SPECIAL) or self.name.endswith("$")


def _text(value: object) -> str:
    return str(value).rstrip("\x00")


def list_shares(host: str, port: int, user: str, password: str, timeout: float) -> list[Share]:
    """Every share of the server (hidden ones included; see :attr:`Share.hidden`)."""
    where = f"{host}:{port}"
    conn: SMBConnection | None = None
    try:
        conn = SMBConnection(host, host, sess_port=port, timeout=timeout)
        conn.login(user, password)
        rpc = transport.SMBTransport(conn.getRemoteHost(), filename=r"\srvsvc", smb_connection=conn)
        dce = rpc.get_dce_rpc()
        dce.connect()
        try:
            dce.bind(srvs.MSRPC_UUID_SRVS)
            answer = srvs.hNetrShareEnum(dce, 1)
        finally:
            dce.disconnect()
        return [
            Share(_text(s["shi1_netname"]), int(s["shi1_type"]), _text(s["shi1_remark"]))
            for s in answer["InfoStruct"]["ShareInfo"]["Level1"]["Buffer"]
        ]
    except SessionError as exc:
        status = exc.getErrorCode() & 0xFFFFFFFF
        if status in _LOGON_FAILURES:
            raise RasError(ErrorCode.ERROR_LOGON_FAILURE, f"{where}: logon refused") from None
        if status in _ACCESS_DENIED:
            raise RasError(ErrorCode.ERROR_ACCESS_DENIED, f"{where}: share list refused") from None
        raise RasError(ErrorCode.ERROR_EXTENDED_ERROR, f"{where}: {status:#010x}") from None
    except DCERPCException as exc:
        if "access_denied" in str(exc).lower():
            raise RasError(ErrorCode.ERROR_ACCESS_DENIED, f"{where}: share list refused") from None
        raise RasError(ErrorCode.ERROR_EXTENDED_ERROR, f"{where}: srvsvc: {exc}") from None
    except (OSError, NetBIOSError, NetBIOSTimeout) as exc:
        raise RasError(
            ErrorCode.ERROR_BAD_NET_NAME, f"{where}: cannot reach the server: {exc}"
        ) from None
    finally:
        if conn is not None:
            try:
                conn.logoff()
                conn.close()
            except Exception:  # closing is best effort: the listing is already in hand
                pass
