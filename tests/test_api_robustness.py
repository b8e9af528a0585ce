"""Malformed API requests get clear errors with the right codes — never a 500 or a crash.

schemathesis generates requests from the daemon's own OpenAPI document. Dial and network
connection requests are left out of the generated run: a generated phone number could name
an address off this machine; their validation is exercised by the hand-written cases below.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

EXCLUDED = {
    ("POST", "/v1/connections"),
    ("GET", "/v1/events"),
    ("POST", "/v1/net/connections"),
    ("POST", "/v1/net/use"),
    # Browsing a generated container (RESOURCE_GLOBALNET on \\server) would resolve and
    # contact that server: only loopback is allowed.
    ("POST", "/v1/net/enum"),
}


@pytest.fixture(scope="module")
def api_daemon() -> Any:
    from harness import Daemon

    d = Daemon("[daemon]\nfailed_handle_grace = 1\n").start()
    yield d
    d.cleanup()


def _operations(daemon: Any) -> list[Any]:
    with daemon.client() as c:
        document = c.call("GET", "/openapi.json")
    document["paths"] = {
        path: {m: op for m, op in ops.items() if (m.upper(), path) not in EXCLUDED}
        for path, ops in document["paths"].items()
    }
    document["paths"] = {p: ops for p, ops in document["paths"].items() if ops}
    schema = schemathesis.openapi.from_dict(document)
    return [result.ok() for result in schema.get_all_operations()]


def test_generated_requests_never_crash_the_daemon(api_daemon: Any) -> None:
    """Every operation of the OpenAPI document, with generated valid and invalid requests."""
    operations = _operations(api_daemon)
    assert len(operations) >= 12
    transport = httpx.HTTPTransport(uds=str(api_daemon.socket))
    with httpx.Client(transport=transport, base_url="http://openras", timeout=30) as http:
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=30,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def check(case: Any) -> None:
                kwargs = case.as_transport_kwargs(base_url="http://openras")
                data = kwargs.get("data")
                request = http.build_request(
                    kwargs["method"],
                    kwargs["url"],
                    headers=kwargs.get("headers"),
                    params=kwargs.get("params"),
                    json=kwargs.get("json"),
                    content=data if isinstance(data, bytes | str) else None,
                )
                response = http.send(request)
                assert response.status_code < 500, (case.method, case.path, response.text)
                if response.status_code >= 400:
                    body = response.json()
                    assert set(body) >= {"error", "name", "message"} and isinstance(
                        body["error"], int
                    )
                case.validate_response(
                    response,
                    checks=[
                        not_a_server_error,
                        status_code_conformance,
                        response_schema_conformance,
                    ],
                )

            check()
    # The daemon is still alive and answering after all of it.
    with api_daemon.client() as c:
        assert c.call("GET", "/v1/health")["version"]


def _raw(daemon: Any, method: str, path: str, content: bytes | None = None) -> httpx.Response:
    transport = httpx.HTTPTransport(uds=str(daemon.socket))
    with httpx.Client(transport=transport, base_url="http://openras", timeout=30) as http:
        return http.request(
            method, path, content=content, headers={"content-type": "application/json"}
        )


@pytest.mark.parametrize(
    "body, code",
    [
        (b"not json", 87),
        (b"[]", 87),
        (b'{"entry": 5}', 87),
        (b'{"entry": "nope"}', 623),
        (b'{"entry": "", "phone_number": ""}', 87),
        (b'{"entry": "x", "phonebook_text": "[x]\\nno equals"}', 625),
        (b'{"entry": "y", "phonebook_text": "[x]\\nDEVICE=ssh"}', 623),
        (b'{"entry": "x", "unknown_field": 1}', 87),
        (b'{"entry": "' + b"a" * 300 + b'"}', 87),
    ],
)
def test_malformed_dial_requests(api_daemon: Any, body: bytes, code: int) -> None:
    response = _raw(api_daemon, "POST", "/v1/connections", body)
    assert response.status_code in (400, 404)
    assert response.json()["error"] == code


@pytest.mark.parametrize(
    "text, code",
    [
        ("[A]\nDEVICE=ssh\n[A]\nDEVICE=tcp\n", 625),
        ("KEY=outside\n", 625),
        ("[A]\nnot a line\n", 625),
    ],
)
def test_malformed_phonebook_import(api_daemon: Any, text: str, code: int) -> None:
    import json

    response = _raw(api_daemon, "POST", "/v1/phonebook/import", json.dumps({"text": text}).encode())
    assert response.status_code == 400 and response.json()["error"] == code
    assert "line" in response.json()["detail"] or ":" in response.json()["detail"]


def test_unknown_handle_and_unsupported_device(api_daemon: Any) -> None:
    assert _raw(api_daemon, "GET", "/v1/connections/424242").json()["error"] == 6
    assert _raw(api_daemon, "DELETE", "/v1/connections/424242").json()["error"] == 6
    assert _raw(api_daemon, "GET", "/v1/connections/abc").status_code in (400, 404)
    import json

    created = _raw(
        api_daemon,
        "POST",
        "/v1/entries",
        json.dumps({"name": "weird", "lines": [["DEVICE", "carrier-pigeon"]]}).encode(),
    )
    assert created.status_code == 201
    dial = _raw(api_daemon, "POST", "/v1/connections", json.dumps({"entry": "weird"}).encode())
    assert dial.json()["error"] == 633
