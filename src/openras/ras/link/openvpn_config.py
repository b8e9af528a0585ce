"""Turning a user's OpenVPN client config into the one the daemon runs (pure; no I/O of its own).

The daemon may run openvpn as root for any local user, so the user's file is not handed over
as it is. It is parsed into options and written out again (re-quoted, so openvpn reads exactly
what was checked):

- options the daemon owns are refused for everyone (``management*``, ``config``, ``daemon``,
  ``log``, ``writepid``, ``cd``, ``chroot``, ``status``, server modes, stand-alone modes …);
- for a dialer other than root (or the daemon's own user) every option that runs a program,
  loads code or writes a file is refused (``script-security``, ``up``, ``down``, ``plugin``,
  ``iproute``, ``engine``, ``providers`` …); openvpn also gets ``--script-security 1`` last on
  its command line, so nothing slipped past this list could run a script;
- every file an option names (``ca``, ``cert``, ``key``, ``tls-crypt`` …) is read *as the
  dialing user* through a callback and inlined (``<ca>…</ca>``), so root's openvpn never opens
  a path the user could not (``auth-user-pass /etc/shadow`` would otherwise send root's file
  to the user's server); ``auth-user-pass FILE`` and ``askpass FILE`` lose their file: the
  credentials come from the dial parameters over the management interface;
- ``dev``/``dev-type`` are replaced by the daemon's (a TUN named after the entry; TAP is refused);
- unless the default route was granted, pushed and local default-route options are filtered.

Refusals raise :class:`ConfigRefused`; the device reports them as 625 (invalid phonebook data).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# Owned by the daemon (management, process, logging) or not a client: refused for everyone.
DAEMON_OWNED = frozenset(
    {
        "config",
        "daemon",
        "inetd",
        "log",
        "log-append",
        "syslog",
        "writepid",
        "cd",
        "chroot",
        "status",
        "status-version",
        "mode",
        "server",
        "server-bridge",
        "server-ipv6",
        "tls-server",
        "mktun",
        "rmtun",
        "genkey",
        "show-ciphers",
        "show-digests",
        "show-engines",
        "show-tls",
        "show-curves",
        "show-groups",
        "show-adapters",
        "show-valid-subnets",
        "show-net",
        "show-gateway",
        "test-crypto",
        "service",
        "errors-to-stderr",
    }
)
# Programs, code or file writes: only root (or the daemon's own user) may use these.
PRIVILEGED = frozenset(
    {
        "script-security",
        "up",
        "down",
        "up-restart",
        "down-pre",
        "route-up",
        "route-pre-down",
        "ipchange",
        "tls-verify",
        "auth-user-pass-verify",
        "client-connect",
        "client-disconnect",
        "learn-address",
        "plugin",
        "iproute",
        "engine",
        "providers",
        "pkcs11-providers",
        "tmp-dir",
        "dev-node",
        "replay-persist",
        "tls-export-cert",
        "capath",
        "lladdr",
        "ifconfig-pool-persist",
    }
)
# Options whose first argument is a file: read as the user and inlined.
FILE_OPTIONS = frozenset(
    {
        "ca",
        "cert",
        "key",
        "extra-certs",
        "pkcs12",
        "dh",
        "tls-auth",
        "tls-crypt",
        "tls-crypt-v2",
        "secret",
        "crl-verify",
        "http-proxy-user-pass",
    }
)
PRIVATE_FILES = frozenset({"key", "pkcs12", "tls-auth", "tls-crypt", "tls-crypt-v2", "secret"})
INLINE_TAGS = FILE_OPTIONS | {"auth-user-pass", "peer-fingerprint"}
DEFAULT_ROUTE_OPTIONS = frozenset({"redirect-gateway", "redirect-private"})
# Pushed options that would route everything through the tunnel (ignored for a split tunnel).
SPLIT_TUNNEL_FILTERS = (
    "redirect-gateway",
    "redirect-private",
    "route 0.0.0.0 ",
    "route 128.0.0.0 128.0.0.0",
    "route-ipv6 ::/0",
    "route-ipv6 ::/1",
    "route-ipv6 8000::/1",
    "route-ipv6 2000::/3",
)


class ConfigRefused(ValueError):
    """The config asks for something the dialing user may not have."""


@dataclass
class PreparedConfig:
    text: str
    remotes: list[str] = field(default_factory=list)  # "host port" of each remote, in order
    has_auth_user_pass: bool = False
    dropped: list[str] = field(default_factory=list)  # options left out (reported in status)


def tokenize(line: str) -> list[str]:
    """openvpn's parse_line: whitespace-separated; "…" (backslash escapes) and '…' (literal)."""
    tokens: list[str] = []
    current: list[str] = []
    have = False
    quote = ""
    i = 0
    while i < len(line):
        c = line[i]
        if quote == "'":
            if c == "'":
                quote = ""
            else:
                current.append(c)
        elif c == "\\" and i + 1 < len(line):
            i += 1
            current.append(line[i])
            have = True
        elif quote == '"':
            if c == '"':
                quote = ""
            else:
                current.append(c)
        elif c in "\"'":
            quote, have = c, True
        elif c.isspace():
            if have:
                tokens.append("".join(current))
                current, have = [], False
        elif c in "#;" and not have:
            break  # a comment starts where a token would
        else:
            current.append(c)
            have = True
        i += 1
    if quote:
        raise ConfigRefused(f"unterminated quote in {line.strip()[:60]!r}")
    if have:
        tokens.append("".join(current))
    return tokens


def requote(tokens: list[str]) -> str:
    out = []
    for token in tokens:
        if any(c in token for c in "\r\n\x00"):
            raise ConfigRefused("line break inside an option")
        out.append('"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(out)


def _inline(tag: str, content: str) -> list[str]:
    lines = content.replace("\r\n", "\n").split("\n")
    for line in lines:
        if line.lstrip().startswith("</") or "\x00" in line:
            raise ConfigRefused(f"{tag}: the file holds a closing tag")
    while lines and lines[-1] == "":
        lines.pop()
    return [f"<{tag}>", *lines, f"</{tag}>"]


def prepare(
    text: str, read_file: Callable[[str, bool], str], privileged: bool, default_route: bool
) -> PreparedConfig:
    """The config openvpn runs. ``read_file(path, private)`` reads a file as the dialing user
    (relative paths are its business); ``privileged``: root or the daemon's user dialed;
    ``default_route``: the default route through the tunnel was asked for and granted."""
    out = PreparedConfig(text="")
    lines: list[str] = []
    if not default_route:
        # Filters first: the first matching pull-filter wins, so a user's "accept" cannot undo
        # these.
        lines += [f"pull-filter ignore {requote([f])}" for f in SPLIT_TUNNEL_FILTERS]
    source = text.replace("\r\n", "\n").split("\n")
    i = 0
    in_connection = False
    while i < len(source):
        raw = source[i].strip()
        i += 1
        if not raw or raw[0] in "#;":
            continue
        if raw.startswith("<"):
            tag = raw[1:].rstrip(">").strip()
            if raw == "<connection>":
                if in_connection:
                    raise ConfigRefused("nested <connection>")
                in_connection = True
                lines.append(raw)
                continue
            if raw == "</connection>" and in_connection:
                in_connection = False
                lines.append(raw)
                continue
            if not raw.endswith(">") or tag not in INLINE_TAGS:
                raise ConfigRefused(f"inline block {raw[:40]!r} is not allowed")
            body: list[str] = []
            while i < len(source) and source[i].strip() != f"</{tag}>":
                body.append(source[i])
                i += 1
            if i >= len(source):
                raise ConfigRefused(f"<{tag}> is not closed")
            i += 1
            if tag == "auth-user-pass":
                out.dropped.append("<auth-user-pass>")
                out.has_auth_user_pass = True
                lines.append("auth-user-pass")
                continue
            lines += _inline(tag, "\n".join(body))
            continue
        tokens = tokenize(raw)
        if not tokens:
            continue
        name = tokens[0].removeprefix("--").lower()
        args = tokens[1:]
        if name in DAEMON_OWNED or name.startswith("management"):
            raise ConfigRefused(f"option {name!r} is set by openras")
        if name in PRIVILEGED and not privileged:
            raise ConfigRefused(f"option {name!r} is only allowed in root's configs")
        if name in ("dev", "dev-type"):
            # openras names the interface (--dev/--dev-type on its command line); TUN only.
            if args and args[0].lower().startswith("tap"):
                raise ConfigRefused("only TUN (routed) configs are supported, not TAP")
            continue
        if name in DEFAULT_ROUTE_OPTIONS or (
            name == "route"
            and args[:2]
            in (["0.0.0.0", "0.0.0.0"], ["0.0.0.0", "128.0.0.0"], ["128.0.0.0", "128.0.0.0"])
        ):
            if not default_route:
                out.dropped.append(" ".join([name, *args]))
                continue
        if name == "remote" and args:
            out.remotes.append(" ".join(args[:2]))
        if name in ("auth-user-pass", "askpass"):
            if args:
                out.dropped.append(f"{name} FILE")
            out.has_auth_user_pass |= name == "auth-user-pass"
            lines.append(name)
            continue
        if name in ("http-proxy", "socks-proxy") and len(args) > 2 and not privileged:
            if name == "socks-proxy" or args[2] not in ("auto", "auto-nct"):
                raise ConfigRefused(
                    f"{name}: an authentication file is only allowed in root's configs"
                )
        if name == "crl-verify" and len(args) > 1 and not privileged:
            raise ConfigRefused("crl-verify DIR is only allowed in root's configs")
        if name in FILE_OPTIONS and args and args[0].lower() not in ("[inline]", "[[inline]]"):
            content = read_file(args[0], name in PRIVATE_FILES)
            lines += _inline(name, content)
            if name in ("tls-auth", "secret") and len(args) > 1:
                lines.append(f"key-direction {requote([args[1]])}")
            continue
        lines.append(requote([name, *args]))
    if in_connection:
        raise ConfigRefused("<connection> is not closed")
    if default_route:
        lines.append('redirect-gateway "def1"')
    out.text = "\n".join(lines) + "\n"
    return out
