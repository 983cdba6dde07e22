"""Durability: a restart (clean or SIGKILL) finds everything as it was."""
import hashlib
import signal
import unittest

import requests

from harness import ADMIN_KEY, Client, StrataServer


class RestartTest(unittest.TestCase):
    def test_everything_survives_restart_and_kill(self):
        server = StrataServer().start()
        try:
            c = Client(server.base)
            key = c.post("/v1/organizations/users/r@example.com/api-keys", {"name": "r", "permissions": ["read"]}).json()["key"]
            ns = c.post("/v1/namespaces", {"namespace_name": "durable",
                        "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v1"}]}).json()
            c.namespace = "durable"
            c.post("/v1/buckets", {"bucket_name": "b", "bucket_schema": {"properties": {"t": {"type": "text"}, "i": {"type": "integer"}}}})
            r = c.post("/v1/buckets/b/objects/batch", {"objects": [
                {"i": i, "blobs": [{"property": "t", "type": "text", "data": f"text {i}"}]} for i in range(50)]})
            self.assertEqual(r.json()["succeeded_count"], 50)
            before = c.post("/v1/buckets/b/objects/list", {"sort": {"field": "i"}}, params={"limit": 100}).json()["results"]

            for sig in (signal.SIGTERM, signal.SIGKILL):
                server.stop(sig)
                server.start()
                c.base = server.base
                after = c.post("/v1/buckets/b/objects/list", {"sort": {"field": "i"}}, params={"limit": 100}).json()["results"]
                self.assertEqual(before, after)
                self.assertEqual(c.get("/v1/namespaces/durable").json()["namespace_id"], ns["namespace_id"])
                self.assertEqual(Client(server.base, key=key).post("/v1/namespaces/list", {}).status_code, 200)
                obj = c.get(f"/v1/buckets/b/objects/{before[7]['object_id']}", params={"return_url": "true"}).json()
                self.assertEqual(requests.get(obj["blobs"][0]["url"]).content, b"text 7")
        finally:
            server.cleanup()

    def test_generated_admin_key_is_printed_once(self):
        server = StrataServer(extra_env={"STRATA_ADMIN_KEY": ""})
        try:
            server.start()
            printed = [l.strip() for l in server.output if l.strip().startswith("sk_")]
            self.assertEqual(len(printed), 1)
            key = printed[0]
            self.assertEqual(Client(server.base, key=key).post("/v1/namespaces/list", {}).status_code, 200)
            server.stop()
            server.output.clear()
            server.start()
            self.assertFalse([l for l in server.output if l.strip().startswith("sk_")])
            self.assertEqual(Client(server.base, key=key).post("/v1/namespaces/list", {}).status_code, 200)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
