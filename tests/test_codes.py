"""Every RAS / Win32 code of the references has its name and an English message."""

from __future__ import annotations

import re
from pathlib import Path

from peers import require as need

from openras.codes import RASCS, ErrorCode, error_name, error_string
from openras.codes.locales import en

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "ras.md"


def test_every_code_in_the_ras_reference_has_name_and_message() -> None:
    need(REFERENCE.exists(), "shared/reference/ras.md is not beside the checkout")
    table = REFERENCE.read_text().split("## 7. Error codes", 1)[1].split("## 8.", 1)[0]
    pairs = re.findall(r"\|\s*(\d+)\s*\|\s*([A-Z_]+)\s*", table)
    assert len(pairs) >= 58
    for code, name in pairs:
        assert error_name(int(code)) == name
        assert int(code) in en.MESSAGES and en.MESSAGES[int(code)].endswith(".")


def test_state_values_follow_the_sdk() -> None:
    assert RASCS.Authenticated == 14 and RASCS.Projected == 18 and RASCS.ApplySettings == 24
    assert RASCS.Interactive == 0x1000 and RASCS.InvokeEapUI == 0x1004
    assert RASCS.Connected == 0x2000 and RASCS.Disconnected == 0x2001


def test_pending_has_no_error_prefix_and_unknown_codes_still_answer() -> None:
    assert error_name(600) == "PENDING"
    assert ErrorCode.ERROR_INVALID_HANDLE == 6
    assert "99999" in error_string(99999)


def test_translations_fall_back_to_english() -> None:
    assert error_string(691, "xx") == en.MESSAGES[691]
