"""The OpenAPI 3.1 document, generated from the route declarations and their pydantic models."""

from __future__ import annotations

import re
from typing import Any

from .. import __version__
from .routes import Route

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "name", "message"],
    "properties": {
        "error": {"type": "integer", "description": "RAS / Win32 error code"},
        "name": {"type": "string"},
        "message": {"type": "string"},
        "detail": {"type": "string"},
    },
}


def _hoist(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Move pydantic's $defs into components/schemas and fix the references."""
    defs = schema.pop("$defs", {})
    for name, sub in defs.items():
        components[name] = sub
    text = repr(schema)
    if "#/$defs/" not in text:
        return schema

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" else fix(v))
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    for name in list(components):
        components[name] = fix(components[name])
    fixed: dict[str, Any] = fix(schema)
    return fixed


def _event_schemas(components: dict[str, Any]) -> dict[str, Any]:
    """Every event kind as a component; returns the schema of "one event"."""
    from ..events.types import schemas

    mapping = {}
    for name, (kind, schema) in schemas().items():
        components[name] = _hoist(schema, components)
        mapping[kind] = f"#/components/schemas/{name}"
    return {
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
        "discriminator": {"propertyName": "kind", "mapping": mapping},
    }


def build(routes: list[Route]) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    event = _event_schemas(components)
    paths: dict[str, Any] = {}
    for route in routes:
        params = []
        for name, schema in route.path_params.items():
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
        for name, schema in route.query.items():
            params.append({"name": name, "in": "query", "required": False, "schema": schema})
        error = {
            "description": "RAS / Win32 error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        ok_content: dict[str, Any]
        if route.stream:
            # Each message's data is one event, its ``event:`` field the kind.
            ok_content = {
                "text/event-stream": {"schema": {"type": "string"}, "x-event-data": event}
            }
        elif route.events:
            ok_content = {"application/json": {"schema": {"type": "array", "items": event}}}
        else:
            ok_content = {"application/json": {"schema": route.response or {}}}
        op: dict[str, Any] = {
            "summary": route.summary,
            "operationId": re.sub(
                r"[^A-Za-z0-9]+", "_", f"{route.method.lower()}{route.path}"
            ).strip("_"),
            "parameters": params,
            "responses": {
                "200": {"description": "OK", "content": ok_content},
                "201": {"description": "Created", "content": {"application/json": {"schema": {}}}},
                **{code: error for code in ("400", "403", "404", "409", "413", "500")},
            },
        }
        if route.tags:
            op["tags"] = route.tags
        if route.body is not None:
            schema = _hoist(
                route.body.model_json_schema(ref_template="#/$defs/{model}"), components
            )
            components[route.body.__name__] = schema
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{route.body.__name__}"}
                    }
                },
            }
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "openras daemon API",
            "version": __version__,
            "description": "Remote Access Connection Manager and Multiple Provider Router. "
            "HTTP/1.1 + JSON over a Unix socket; errors carry RAS / Win32 codes.",
        },
        "paths": paths,
        "components": {"schemas": components},
    }
