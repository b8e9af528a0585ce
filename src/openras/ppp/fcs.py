"""The 16-bit frame check sequence of RFC 1662 (CRC-16/X.25, a.k.a. IBM-SDLC / ISO-HDLC).

fastcrc names this variant ``ibm_sdlc`` (poly 0x1021 reflected, init and xorout 0xFFFF);
``binascii.crc_hqx`` is the XMODEM variant and would not interoperate.
"""

from __future__ import annotations

from fastcrc import crc16

crc16_sdlc = crc16.ibm_sdlc  # the same, without a Python call around it (the data path)


def fcs16(data: bytes | bytearray | memoryview) -> int:
    """The FCS to append (little-endian) to ``data``; ``fcs16(b"123456789") == 0x906E``."""
    return crc16.ibm_sdlc(data)


def append_fcs(data: bytes) -> bytes:
    return data + fcs16(data).to_bytes(2, "little")


def check_fcs(frame: bytes | bytearray) -> bool:
    """True when the last two octets of ``frame`` are the FCS of the rest."""
    if len(frame) < 2:
        return False
    return fcs16(frame[:-2]) == int.from_bytes(frame[-2:], "little")
