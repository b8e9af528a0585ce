"""Messages in the user's language end to end: rasdial against a real sshd, the openras and
net use CLIs, the API's Accept-Language and the pywin32-compatible modules. The system has no
de/es/ru/zh_TW locale generated: the language comes from the environment variables alone."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import httpx
import pytest
from harness import PYTHON
from ras_helpers import ssh_entry

from openras.codes import error_string
from openras.codes.locales import en

# The prefix rasdial prints and a fragment of the 691 message, written out here (not read from
# the catalogs) so a wrong or missing catalog fails the test.
RASDIAL_691 = {
    "de_DE.UTF-8": ("de", "RAS-Fehler 691 - ", "Benutzername und Kennwort nicht erkannt"),
    "es_ES.UTF-8": ("es", "Error de acceso remoto 691 - ", "nombre de usuario y contraseña"),
    "ru_RU.UTF-8": ("ru", "Ошибка удаленного доступа 691 - ", "имени пользователя и пароля"),
    "zh_TW.UTF-8": ("zh_TW", "遠端存取錯誤 691 - ", "使用者名稱和密碼組合"),
}


def run_in(daemon: Any, lang: str, argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """A CLI process of this daemon with ``LANG=lang`` (and any other variables given)."""
    return subprocess.run(
        argv,
        env={**daemon.env, "LANG": lang, "PYTHONIOENCODING": "utf-8", **env},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=90,
        cwd="/",
    )


def rasdial(daemon: Any, lang: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_in(daemon, lang, [PYTHON, "-m", "openras.cli.rasdial", *args])


def openras(daemon: Any, lang: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_in(daemon, lang, [PYTHON, "-m", "openras", *args], **env)


@pytest.mark.parametrize("lang", sorted(RASDIAL_691))
def test_rasdial_with_a_wrong_password_says_691_in_the_users_language(
    daemon: Any, sshd: Any, lang: str
) -> None:
    ssh_entry(daemon, sshd)
    code, prefix, fragment = RASDIAL_691[lang]
    bad = rasdial(daemon, lang, "lab", sshd.user, "wrong-" + sshd.password)
    assert bad.returncode == 691 % 256, bad.stderr
    # The line after the (translated) warning about a password on the command line.
    first = next((ln for ln in bad.stderr.splitlines() if ln.startswith(prefix)), "")
    assert first == prefix + error_string(691, code), bad.stderr
    assert fragment in first
    assert en.MESSAGES[691] not in bad.stderr and "Remote Access error" not in bad.stderr


def test_rasdial_progress_is_translated_and_english_stays_the_default(
    daemon: Any, sshd: Any
) -> None:
    ssh_entry(daemon, sshd)
    good = rasdial(daemon, "de_DE.UTF-8", "lab", sshd.user, sshd.password)
    assert good.returncode == 0, good.stderr
    assert "Verbindung mit lab wird hergestellt..." in good.stdout
    assert "Benutzername und Kennwort werden überprüft..." in good.stdout
    assert "Die Verbindung mit lab wurde erfolgreich hergestellt." in good.stdout
    assert "Der Befehl wurde erfolgreich ausgeführt." in good.stdout
    listing = rasdial(daemon, "fr_FR.UTF-8")  # no French catalog: English
    assert listing.stdout == "Connected to\nlab\nCommand completed successfully.\n"
    # LANGUAGE (a list) is honoured over LANG, and LC_ALL over both.
    down = run_in(
        daemon,
        "de_DE.UTF-8",
        [PYTHON, "-m", "openras.cli.rasdial", "lab", "/DISCONNECT"],
        LANGUAGE="fr:ru",
    )
    assert down.returncode == 0 and down.stdout == "Команда выполнена успешно.\n"
    none = run_in(
        daemon, "de_DE.UTF-8", [PYTHON, "-m", "openras.cli.rasdial"], LC_ALL="zh_TW.UTF-8"
    )
    assert none.stdout == "沒有連線\n命令已經成功完成。\n"


def test_json_output_never_changes_with_the_language(daemon: Any) -> None:
    english = openras(daemon, "C.UTF-8", "status", "99999", "--json")
    for lang in ("de_DE.UTF-8", "ru_RU.UTF-8", "zh_TW.UTF-8"):
        other = openras(daemon, lang, "status", "99999", "--json")
        assert (other.returncode, other.stdout) == (english.returncode, english.stdout)
    body = json.loads(english.stdout)
    assert body["error"] == 6 and body["message"] == en.MESSAGES[6]
    # The human output of the same failure is translated.
    human = openras(daemon, "es_ES.UTF-8", "status", "99999")
    assert human.stderr.startswith("Error de acceso remoto 6 - El identificador no es válido.")
    # net use: the JSON error stays English, the human one follows LANG.
    net_json = [openras(daemon, lang, "net", "use", "Q:", "--json") for lang in ("C", "ru_RU")]
    assert net_json[0].returncode == net_json[1].returncode == 2
    assert net_json[0].stdout == net_json[1].stdout
    assert json.loads(net_json[1].stdout)["message"] == en.MESSAGES[2250]
    net = openras(daemon, "ru_RU.UTF-8", "net", "use", "Q:")
    assert net.stderr.split("\n\n")[:2] == [
        "Системная ошибка 2250.",
        "Это сетевое подключение не существует.",
    ]
    listing = openras(daemon, "de_DE.UTF-8", "net", "use")
    assert listing.stdout.startswith("Neue Verbindungen werden gespeichert.")
    assert "Es sind keine Einträge in der Liste." in listing.stdout


def test_api_message_follows_accept_language_and_nothing_else_changes(daemon: Any) -> None:
    transport = httpx.HTTPTransport(uds=str(daemon.socket))
    with httpx.Client(transport=transport, base_url="http://openras") as http:

        def get(path: str, header: str | None) -> tuple[int, dict[str, Any]]:
            headers = {"Accept-Language": header} if header is not None else {}
            r = http.get(path, headers=headers)
            return r.status_code, r.json()

        status, plain = get("/v1/connections/99999", None)
        assert status == 404 and plain["message"] == en.MESSAGES[6]
        for header, lang in (
            ("ru", "ru"),
            ("fr-FR, es;q=0.8, de;q=0.5", "es"),  # no French: the next language asked for
            ("de-DE;q=0.4, zh-Hant-TW;q=0.9", "zh_TW"),
        ):
            status, body = get("/v1/connections/99999", header)
            assert status == 404
            assert body["message"] == error_string(6, lang) != en.MESSAGES[6]
            assert {k: v for k, v in body.items() if k != "message"} == {
                k: v for k, v in plain.items() if k != "message"
            }
        for header in ("en-US, de;q=0.9", "fr", "*", "x" * 5000, "de;q=nope"):
            assert get("/v1/connections/99999", header) == (404, plain), header
        # The MPR's own error bodies (with notifyee_errors) follow it too.
        status, mpr = get("/v1/net/connections/Q:", "de")
        assert status == 404 and mpr["error"] == 2250
        assert mpr["message"] == "Diese Netzwerkverbindung ist nicht vorhanden."


def test_the_python_client_asks_in_the_locales_language(
    daemon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openras.client import ApiError, Client

    monkeypatch.setenv("LANG", "zh_TW.UTF-8")
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "OPENRAS_LANG"):
        monkeypatch.delenv(var, raising=False)
    with Client(home=str(daemon.home), autostart=False) as c, pytest.raises(ApiError) as info:
        c.call("GET", "/v1/connections/99999")
    assert info.value.code == 6 and info.value.message == "控制代碼無效。"


def test_win32_modules_speak_the_environments_language(
    win32ras: Any, daemon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openras import win32wnet

    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "OPENRAS_LANG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    assert win32ras.GetErrorString(691).startswith("Удаленное подключение запрещено")
    with pytest.raises(win32ras.error) as info:
        win32ras.GetConnectStatus(99999)
    assert info.value.winerror == 6 and info.value.strerror == "Неверный дескриптор."
    monkeypatch.setenv("LC_MESSAGES", "de_DE.UTF-8")
    monkeypatch.setattr(win32wnet, "_client", None)
    with pytest.raises(win32wnet.error) as wnet:
        win32wnet.WNetCancelConnection2("Q:", 0, False)
    assert wnet.value.winerror == 2250
    assert wnet.value.strerror == "Diese Netzwerkverbindung ist nicht vorhanden."
    monkeypatch.setenv("LC_MESSAGES", "C")
    assert win32ras.GetErrorString(691) == en.MESSAGES[691]
