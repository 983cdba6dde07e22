"""Bad input: every case answers with the right status in the error envelope,
and nothing is written."""
import json
import socket
import unittest

import requests

from harness import ADMIN_KEY, ApiTestCase, Client, StrataServer, namespace_client

SCHEMA = {"properties": {"t": {"type": "text"}, "n": {"type": "integer", "required": True}}}


class BadInputTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.c = namespace_client(cls.server.base, "bad", cls.conformance)
        cls.c.post("/v1/buckets", {"bucket_name": "b", "bucket_schema": SCHEMA})

    def count(self):
        r = self.c.post("/v1/buckets/b/objects/list", {}, params={"include_total": "true"})
        return r.json()["pagination"]["total"]

    def raw(self, method, path, data, headers=None):
        h = {"Authorization": f"Bearer {ADMIN_KEY}", "X-Namespace": "bad", "Content-Type": "application/json"}
        h.update(headers or {})
        return requests.request(method, self.server.base + path, data=data, headers=h, timeout=60)

    def test_malformed_json(self):
        before = self.count()
        body = self.assertError(self.raw("POST", "/v1/buckets/b/objects", b'{"n": 1,'), 400, "BadRequestError")
        self.assertIn("malformed JSON", body["error"]["message"])
        self.assertEqual(self.count(), before)

    def test_wrong_types_missing_and_unknown_fields(self):
        before = self.count()
        body = self.assertError(self.c.post("/v1/buckets/b/objects", {"n": "one", "zzz": 1}), 422, "ValidationError")
        locs = {e["location"] for e in body["error"]["details"]["validation_errors"]}
        self.assertEqual(locs, {"body.n", "body.zzz"})
        body = self.assertError(self.c.post("/v1/buckets/b/objects", {"t": None}), 422)
        self.assertEqual(self.count(), before)
        self.assertError(self.c.post("/v1/buckets/b/objects", [1, 2]), 422)
        self.assertError(self.c.post("/v1/buckets", {"bucket_name": 5, "bucket_schema": SCHEMA}), 422)

    def test_too_deep_json(self):
        deep = "[" * 200 + "]" * 200
        body = self.assertError(self.raw("POST", "/v1/buckets/b/objects", deep), 400)
        self.assertIn("deeper", body["error"]["message"])

    def test_oversized_body(self):
        server = StrataServer(extra_env={"STRATA_MAX_BODY_BYTES": "65536"}).start()
        try:
            c = Client(server.base)
            r = c.post("/v1/namespaces", {"namespace_name": "x" * 10, "description": "y" * 100000,
                       "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v1"}]})
            self.assertError(r, 413)
            self.assertEqual(c.post("/v1/namespaces/list", {}).json()["results"], [])
        finally:
            server.cleanup()

    def test_dot_dot_path(self):
        for path in ("/v1/buckets/../namespaces/list", "/v1/buckets/%2e%2e/objects/list"):
            with socket.create_connection(("127.0.0.1", int(self.server.base.rsplit(":", 1)[1]))) as s:
                s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_KEY}\r\n"
                          f"X-Namespace: bad\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}".encode())
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            self.assertIn(b" 400 ", head.split(b"\r\n")[0], data[:200])
            self.assertEqual(json.loads(body)["error"]["type"], "BadRequestError")

    def test_unknown_route_is_enveloped(self):
        self.assertError(self.c.get("/v1/nothing-here"), 404, "NotFoundError")

    def test_url_blob_errors(self):
        before = self.count()
        # nothing listens on port 9 of loopback: the URL does not answer
        body = self.assertError(self.c.post("/v1/buckets/b/objects", {
            "n": 1, "blobs": [{"property": "t", "type": "text", "data": "http://127.0.0.1:9/x.txt"}]}), 422)
        self.assertEqual(self.count(), before)
        self.assertError(self.c.post("/v1/buckets/b/objects", {
            "n": 1, "blobs": [{"property": "t", "type": "text", "data": "s3://bucket/key"}]}), 422)
        self.assertError(self.c.post("/v1/buckets/b/objects", {
            "n": 1, "blobs": [{"property": "t", "type": "text", "data": {"url": "file:///etc/passwd"}}]}), 422)
        self.assertEqual(self.count(), before)


class PrivateUrlTest(unittest.TestCase):
    def test_private_addresses_are_refused_by_default(self):
        server = StrataServer(extra_env={"STRATA_ALLOW_PRIVATE_URLS": "0"}).start()
        try:
            c = namespace_client(server.base, "p")
            c.post("/v1/buckets", {"bucket_name": "b", "bucket_schema": SCHEMA})
            for url in ("http://127.0.0.1:1/x", "http://10.0.0.1/x", "http://[::1]/x", "http://169.254.169.254/latest"):
                r = c.post("/v1/buckets/b/objects", {"n": 1, "blobs": [{"property": "t", "type": "text", "data": url}]})
                self.assertEqual(r.status_code, 422, r.text)
                self.assertIn("private", r.json()["error"]["message"] + json.dumps(r.json()["error"]["details"]))
            total = c.post("/v1/buckets/b/objects/list", {}, params={"include_total": "true"}).json()["pagination"]["total"]
            self.assertEqual(total, 0)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
