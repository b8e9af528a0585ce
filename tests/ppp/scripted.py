"""A hand-driven peer: decode what the engine sent, answer with hand-built packets."""

from __future__ import annotations

from openras.ppp import PppEngine
from openras.ppp.hdlc import Deframer, encode_frame
from openras.ppp.packets import CpPacket, Option, encode_options, parse_options


class Peer:
    def __init__(self, engine: PppEngine, now: float = 0.0) -> None:
        self.engine = engine
        self.now = now
        self._deframer = Deframer(rx_accm=0)
        self._unread: list[tuple[int, bytes]] = []

    def read(self) -> list[tuple[int, bytes]]:
        """Every (protocol, information) the engine has sent and the test has not read."""
        self._unread += [
            (f.protocol, f.info) for f in self._deframer.feed(self.engine.data_to_send())
        ]
        frames, self._unread = self._unread, []
        return frames

    def read_cp(self, protocol: int) -> list[CpPacket]:
        """The unread packets of one protocol; the others stay unread."""
        packets = []
        for proto, info in self.read():
            if proto == protocol:
                packet = CpPacket.decode(info)
                assert packet is not None
                packets.append(packet)
            else:
                self._unread.append((proto, info))
        return packets

    def send(self, protocol: int, info: bytes) -> None:
        # LCP with every control character escaped, as RFC 1662 asks before LCP is up.
        accm = 0xFFFFFFFF if protocol == 0xC021 else 0
        self.engine.receive_data(encode_frame(protocol, info, accm=accm), self.now)

    def send_cp(
        self, protocol: int, code: int, ident: int, data: bytes | list[Option] = b""
    ) -> None:
        if isinstance(data, list):
            data = encode_options(data)
        self.send(protocol, CpPacket(code, ident, data).encode())

    def advance(self, now: float) -> None:
        """Let time pass to ``now``, firing every timer deadline on the way."""
        while (when := self.engine.get_timer()) is not None and when <= now:
            self.now = when
            self.engine.handle_timer(when)
        self.now = now


def options(packet: CpPacket) -> list[Option]:
    parsed = parse_options(packet.data)
    assert parsed is not None
    return parsed


def by_type(packet: CpPacket) -> dict[int, bytes]:
    return {o.type: o.data for o in options(packet)}
