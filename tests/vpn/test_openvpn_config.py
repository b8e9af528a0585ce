"""The rewriting of a user's OpenVPN config (openras.ras.link.openvpn_config), without openvpn."""

from __future__ import annotations

import pytest

from openras.ras.link.openvpn_config import ConfigRefused, prepare, tokenize

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def reader(files: dict[str, str], seen: list[tuple[str, bool]] | None = None):  # type: ignore[no-untyped-def]
    def read(path: str, private: bool) -> str:
        if seen is not None:
            seen.append((path, private))
        return files[path]

    return read


def test_files_are_inlined_through_the_reader() -> None:
    seen: list[tuple[str, bool]] = []
    out = prepare(
        "client\nca ca.crt\ntls-auth ta.key 1\nremote vpn.example 1194 udp\n"
        "auth-user-pass /etc/shadow\n",
        reader({"ca.crt": PEM, "ta.key": "KEY"}, seen),
        privileged=False,
        default_route=False,
    )
    assert seen == [("ca.crt", False), ("ta.key", True)]
    assert "<ca>\n" + PEM.rstrip("\n") + "\n</ca>" in out.text
    assert '<tls-auth>\nKEY\n</tls-auth>\nkey-direction "1"' in out.text
    assert "/etc/shadow" not in out.text and "\nauth-user-pass\n" in out.text
    assert out.has_auth_user_pass and out.remotes == ["vpn.example 1194"]


@pytest.mark.parametrize(
    "line",
    [
        "up /tmp/x.sh",
        "script-security 2",
        "plugin /x.so",
        "iproute /bin/sh",
        "--route-up 'sh -c id'",
        "engine dynamic",
        "dev-node /dev/sda",
        "tls-verify /bin/true",
        "socks-proxy h 1 /etc/shadow",
    ],
)
def test_programs_and_code_are_root_only(line: str) -> None:
    with pytest.raises(ConfigRefused):
        prepare(f"client\n{line}\n", reader({}), privileged=False, default_route=False)
    prepare(f"client\n{line}\n", reader({}), privileged=True, default_route=False)


@pytest.mark.parametrize(
    "line",
    [
        "management 127.0.0.1 1",
        "management-client-user x",
        "daemon",
        "log /tmp/l",
        "config other.conf",
        "writepid /etc/passwd",
        "cd /",
        "status /tmp/s",
        "mode server",
    ],
)
def test_daemon_owned_options_are_refused_for_everyone(line: str) -> None:
    with pytest.raises(ConfigRefused):
        prepare(f"client\n{line}\n", reader({}), privileged=True, default_route=False)


def test_split_tunnel_filters_and_drops_default_routes() -> None:
    out = prepare(
        "pull-filter accept redirect-gateway\nredirect-gateway def1\nroute 0.0.0.0 128.0.0.0\n"
        "route 10.1.0.0 255.255.0.0\n",
        reader({}),
        privileged=True,
        default_route=False,
    )
    lines = out.text.splitlines()
    assert lines.index('pull-filter ignore "redirect-gateway"') < lines.index(
        '"pull-filter" "accept" "redirect-gateway"'
    )
    assert '"redirect-gateway" "def1"' not in lines and '"route" "10.1.0.0" "255.255.0.0"' in lines
    assert out.dropped == ["redirect-gateway def1", "route 0.0.0.0 128.0.0.0"]
    full = prepare("client\n", reader({}), privileged=True, default_route=True)
    assert "pull-filter" not in full.text and 'redirect-gateway "def1"' in full.text


def test_requoting_keeps_what_was_checked() -> None:
    assert tokenize("remote \"a b\" 'c\\d' e\\ f # comment") == ["remote", "a b", "c\\d", "e f"]
    out = prepare(
        'verify-x509-name "CN=a\\"b" name\n', reader({}), privileged=False, default_route=False
    )
    assert '"verify-x509-name" "CN=a\\"b" "name"' in out.text
    with pytest.raises(ConfigRefused):
        tokenize('remote "open')


def test_inline_blocks() -> None:
    out = prepare(
        f"<ca>\n{PEM}</ca>\n<connection>\nremote a 1\n</connection>\n<auth-user-pass>\nu\np\n"
        "</auth-user-pass>\n",
        reader({}),
        privileged=False,
        default_route=False,
    )
    assert "<ca>" in out.text and '<connection>\n"remote" "a" "1"\n</connection>' in out.text
    assert "\nu\np\n" not in out.text
    for bad in ("<up>\nx\n</up>\n", "<connection>\nup x\n</connection>\n", "<ca>\nx\n"):
        with pytest.raises(ConfigRefused):
            prepare(bad, reader({}), privileged=False, default_route=False)
    with pytest.raises(ConfigRefused):  # a file cannot close its block early and add options
        prepare(
            "ca x\n",
            reader({"x": "</ca>\nup /bin/sh\n<ca>"}),
            privileged=False,
            default_route=False,
        )


def test_tap_is_refused_and_dev_replaced() -> None:
    assert (
        "dev" not in prepare("dev tun0\n", reader({}), privileged=False, default_route=False).text
    )
    with pytest.raises(ConfigRefused):
        prepare("dev tap\n", reader({}), privileged=False, default_route=False)
