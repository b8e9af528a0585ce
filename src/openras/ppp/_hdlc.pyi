# The C framing (_hdlc.c); see hdlc_batch for how the data path uses it.
from collections.abc import Sequence

from typing_extensions import Buffer

def encode_frames(packets: Sequence[Buffer], prefix: Buffer, accm: int) -> bytes: ...
def decode_frames(
    data: bytes,
    first: int,
    last: int,
    protocols: Sequence[int],
    max_frame: int,
    packets: list[bytes],
) -> tuple[int, int]: ...
