"""Durability: a restart (clean or SIGKILL) finds everything as it was."""
import json
import os
import signal
import threading
import time
import unittest

import requests

from harness import Client, StrataServer, namespace_client


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

    def test_kill_during_a_batch_leaves_all_or_nothing(self):
        server = StrataServer().start()
        try:
            c = namespace_client(server.base, "killed")
            c.post("/v1/buckets", {"bucket_name": "b", "bucket_schema": {"properties": {"t": {"type": "text"}, "i": {"type": "integer"}}}})
            batch = {"objects": [{"i": i, "blobs": [{"property": "t", "type": "text",
                                                     "data": f"object {i} " + "x" * 200000}]} for i in range(200)]}
            body = json.dumps(batch)
            sender = threading.Thread(target=lambda: self._post_ignoring_errors(c, body), daemon=True)
            sender.start()
            time.sleep(0.4)  # the batch is being staged (seen here: ~70 of 200 blobs in blobs/tmp)
            server.stop(signal.SIGKILL)
            sender.join(timeout=30)
            server.start()
            c.base = server.base
            objects = c.post("/v1/buckets/b/objects/list", {}, params={"limit": 1000}).json()["results"]
            self.assertIn(len(objects), (0, 200))  # one transaction: whole or not at all
            for o in objects[:20]:
                url = c.get(f"/v1/buckets/b/objects/{o['object_id']}", params={"return_url": "true"}).json()["blobs"][0]["url"]
                self.assertTrue(requests.get(url).content.startswith(f"object {o['i']} ".encode()))
            blobs_dir = os.path.join(server.data_dir, "blobs")
            self.assertEqual(os.listdir(os.path.join(blobs_dir, "tmp")), [])  # staging swept
            files = [f for d in os.listdir(blobs_dir) if d != "tmp" for f in os.listdir(os.path.join(blobs_dir, d))]
            self.assertEqual(len(files), len(objects))  # no orphan blob files either
        finally:
            server.cleanup()

    @staticmethod
    def _post_ignoring_errors(client, body):
        try:
            client.session.post(client.base + "/v1/buckets/b/objects/batch", data=body,
                                headers=client.headers({"Content-Type": "application/json"}), timeout=60)
        except requests.RequestException:
            pass  # the server was killed under it

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
