"""Starts a real strata server on a free loopback port for API tests.

Each test module gets its own server and data directory (a temporary folder),
talks HTTP to it with `requests`, and checks every response body against the
response schema of the Mixpeek v0.81 OpenAPI document (see conformance.py).
"""
import base64
import http.server
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import requests

from conformance import Conformance

ADMIN_KEY = "sk_test_admin_" + "x" * 32
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def strata_binary():
    path = os.environ.get("STRATA_BIN") or os.path.join(REPO, "build", "strata")
    if not os.path.exists(path):
        raise unittest.SkipTest(f"strata binary not found at {path}: build first (make build)")
    return path


class StrataServer:
    """One `strata serve` process with its own data directory."""

    def __init__(self, data_dir=None, extra_env=None, extra_args=None):
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="strata-test-")
        self.extra_env = extra_env or {}
        self.extra_args = extra_args or []
        self.proc = None
        self.base = None
        self.output = []

    def start(self):
        env = dict(os.environ)
        env.update({"STRATA_ADMIN_KEY": ADMIN_KEY, "STRATA_ALLOW_PRIVATE_URLS": "1"})
        env.update(self.extra_env)
        self.proc = subprocess.Popen(
            [strata_binary(), "serve", "--data", self.data_dir, "--port", "0", "--host", "127.0.0.1",
             *self.extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.base = m.group(1)
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        raise RuntimeError("strata did not start:\n" + "".join(self.output))

    def _drain(self):
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("strata did not stop on SIGTERM within 20 s")
            # A clean stop exits 0; anything else (a sanitizer report, a crash) fails the test.
            if sig == signal.SIGTERM and self.proc.returncode != 0:
                time.sleep(0.2)  # let the drain thread collect the last lines
                raise RuntimeError(f"strata exited with {self.proc.returncode}:\n" + "".join(self.output[-60:]))
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def cleanup(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


class Client:
    """A thin requests wrapper that validates every JSON answer against the spec."""

    def __init__(self, base, key=ADMIN_KEY, namespace=None, conformance=None):
        self.base = base
        self.key = key
        self.namespace = namespace
        self.session = requests.Session()
        self.conformance = conformance

    def headers(self, extra=None):
        h = {}
        if self.key:
            h["Authorization"] = f"Bearer {self.key}"
        if self.namespace:
            h["X-Namespace"] = self.namespace
        h.update(extra or {})
        return h

    def call(self, method, path, json=None, params=None, headers=None, data=None, spec_path=None):
        kwargs = {"params": params, "headers": self.headers(headers), "timeout": 120}
        if data is not None:
            kwargs["data"] = data
        elif json is not None:
            kwargs["json"] = json
        r = self.session.request(method, self.base + path, **kwargs)
        if self.conformance is not None and r.headers.get("Content-Type", "").startswith("application/json"):
            self.conformance.check(method, spec_path or path, r.status_code, r.json())
        return r

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.call("POST", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.call("PUT", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.call("PATCH", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


def namespace_client(base, name, conformance=None):
    """Creates namespace `name` with the admin key; returns a client bound to it."""
    c = Client(base, conformance=conformance)
    # GloVe (100-d) keeps these tests fast; the default model, USE-lite, has
    # tests of its own (test_semantic_search.py).
    r = c.post("/v1/namespaces", {"namespace_name": name,
               "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v1",
                                       "params": {"embedding_model": "glove-100d"}}]})
    assert r.status_code == 200, r.text
    c.namespace = name
    return c


class FileServer:
    """A loopback HTTP server serving given bytes, for URL blobs."""

    def __init__(self, files):
        self.files = files

        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = outer.files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                data, ctype = body
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


# A 1x1 PNG, for image blobs.
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


class ApiTestCase(unittest.TestCase):
    """Base class: one server per test class, an admin client, a fresh namespace helper."""

    server = None
    conformance = Conformance.load()

    @classmethod
    def setUpClass(cls):
        cls.server = StrataServer().start()
        cls.admin = Client(cls.server.base, conformance=cls.conformance)

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.cleanup()
        if getattr(cls, "dir", None):
            shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def make_temp_dir(cls, prefix):
        """A folder for the class's fixtures (cls.dir), removed in tearDownClass."""
        cls.dir = tempfile.mkdtemp(prefix=prefix)
        return cls.dir

    def client(self, key=ADMIN_KEY, namespace=None):
        return Client(self.server.base, key=key, namespace=namespace, conformance=self.conformance)

    def make_namespace(self, name):
        return self.admin.get(f"/v1/namespaces/{namespace_client(self.server.base, name, self.conformance).namespace}").json()

    def assertError(self, r, status, type_name=None):
        self.assertEqual(r.status_code, status, r.text)
        body = r.json()
        self.assertEqual(body["success"], False)
        self.assertEqual(body["status"], status)
        self.assertIn("message", body["error"])
        if type_name:
            self.assertEqual(body["error"]["type"], type_name, r.text)
        return body
