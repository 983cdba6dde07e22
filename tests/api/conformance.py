"""Checks response bodies against the Mixpeek v0.81 OpenAPI document.

For each (method, path, status) the server answers, the matching operation's
response schema is looked up and the body validated with jsonschema (required
fields present, types right). Error statuses are checked against ErrorResponse.
The document lives in ../shared/reference beside the repository; without it
the check is skipped (reported once) rather than failed.
"""
import json
import os
import re
import sys

SPEC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference",
                                    "mixpeek-openapi-v0.81.json"))


class Conformance:
    def __init__(self, spec):
        import jsonschema
        self.spec = spec
        self.jsonschema = jsonschema
        self.routes = []
        for path, ops in spec["paths"].items():
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", path.rstrip("/")) + "/?$"
            self.routes.append((re.compile(pattern), path, ops))
        # Literal paths first, so /objects/list wins over /objects/{id}.
        self.routes.sort(key=lambda r: r[1].count("{"))
        self.checked = []

    @classmethod
    def load(cls):
        path = os.environ.get("STRATA_OPENAPI", SPEC)
        if not os.path.exists(path):
            print(f"conformance: {path} not found; response schemas are not checked", file=sys.stderr)
            return None
        with open(path) as f:
            return cls(json.load(f))

    def operation(self, method, path):
        for pattern, spec_path, ops in self.routes:
            if pattern.match(path) and method.lower() in ops:
                return spec_path, ops[method.lower()]
        return None, None

    def schema_for(self, method, path, status):
        spec_path, op = self.operation(method, path)
        if op is None:
            return None, None
        responses = op.get("responses", {})
        resp = responses.get(str(status))
        if resp is None and status >= 400:
            return spec_path, {"$ref": "#/components/schemas/ErrorResponse"}
        if resp is None:
            return spec_path, None
        content = resp.get("content", {}).get("application/json")
        if not content or "schema" not in content:
            return spec_path, None
        schema = content["schema"]
        if status >= 400 and status != 422:
            schema = {"$ref": "#/components/schemas/ErrorResponse"}
        if status == 422:  # Strata answers 422 with the error envelope, as api.md says
            schema = {"$ref": "#/components/schemas/ErrorResponse"}
        return spec_path, schema

    def check(self, method, path, status, body):
        spec_path, schema = self.schema_for(method, path.split("?")[0], status)
        if schema is None:
            return
        root = dict(schema)
        root["components"] = self.spec["components"]
        validator_cls = self.jsonschema.validators.validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema"})
        errors = sorted(validator_cls(root).iter_errors(body), key=lambda e: list(e.path))
        self.checked.append((method, spec_path, status))
        if errors:
            msgs = "; ".join(f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message[:200]}" for e in errors[:5])
            raise AssertionError(f"{method} {path} -> {status} does not match {spec_path}'s schema: {msgs}")
