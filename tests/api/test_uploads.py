"""The presigned upload flow: create, PUT, confirm, duplicates, downloads."""
import hashlib
import os
import time
import unittest

import requests

from harness import ApiTestCase, Client, StrataServer, namespace_client

SCHEMA = {"properties": {"video": {"type": "video"}, "doc": {"type": "pdf"}, "title": {"type": "string"}}}


class UploadTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.c = namespace_client(cls.server.base, "uploads", cls.conformance)
        r = cls.c.post("/v1/buckets", {"bucket_name": "media", "bucket_schema": SCHEMA})
        assert r.status_code == 200, r.text

    def test_50mb_upload_confirm_duplicate_and_download(self):
        payload = os.urandom(50 * 1024 * 1024)
        sha = hashlib.sha256(payload).hexdigest()
        r = self.c.post("/v1/buckets/media/uploads", {
            "filename": "clip.mp4", "content_type": "video/mp4", "file_size_bytes": len(payload),
            "blob_property": "video", "blob_type": "video", "object_metadata": {"title": "big"}})
        self.assertEqual(r.status_code, 200, r.text)
        up = r.json()
        self.assertTrue(up["upload_id"].startswith("upl_"))
        self.assertEqual(up["status"], "PENDING")
        # confirming before the PUT is refused
        self.assertError(self.c.post(f"/v1/buckets/media/uploads/{up['upload_id']}/confirm", {}), 400)
        put = requests.put(up["presigned_url"], data=payload, timeout=300)
        self.assertEqual(put.status_code, 200, put.text)
        r = self.c.post(f"/v1/buckets/media/uploads/{up['upload_id']}/confirm",
                        {"file_size_bytes": len(payload)})
        self.assertEqual(r.status_code, 200, r.text)
        conf = r.json()
        self.assertEqual(conf["status"], "COMPLETED")
        self.assertEqual(conf["file_hash"], sha)
        obj = self.c.get(f"/v1/buckets/media/objects/{conf['object_id']}", params={"return_url": "true"}).json()
        self.assertEqual(obj["title"], "big")
        self.assertEqual(obj["blobs"][0]["details"]["hash"], sha)
        self.assertEqual(obj["blobs"][0]["details"]["size_bytes"], len(payload))
        got = requests.get(obj["blobs"][0]["url"], timeout=300)
        self.assertEqual(got.status_code, 200)
        self.assertEqual(hashlib.sha256(got.content).hexdigest(), sha)

        # the same bytes again: reported as a duplicate, at create (hash given) and at confirm
        r2 = self.c.post("/v1/buckets/media/uploads", {
            "filename": "clip-again.mp4", "content_type": "video/mp4", "file_hash": sha,
            "blob_property": "video", "object_metadata": {"title": "big"}}).json()
        self.assertTrue(r2["is_duplicate"])
        self.assertEqual(r2["duplicate_of_upload_id"], up["upload_id"])
        requests.put(r2["presigned_url"], data=payload, timeout=300)
        conf2 = self.c.post(f"/v1/buckets/media/uploads/{r2['upload_id']}/confirm", {}).json()
        self.assertTrue(conf2["is_duplicate"])
        self.assertEqual(conf2["existing_object_id"], conf["object_id"])
        listed = self.c.post("/v1/buckets/media/objects/list", {}, params={"include_total": "true"}).json()
        self.assertEqual(listed["pagination"]["total"], 1)

        ups = self.c.post("/v1/buckets/media/uploads/list", {}).json()
        self.assertEqual(ups["stats"]["total_uploads"], 2)
        self.assertEqual(self.c.get(f"/v1/buckets/media/uploads/{up['upload_id']}").json()["status"], "COMPLETED")

    def test_tampered_put_url_and_size_mismatch(self):
        up = self.c.post("/v1/buckets/media/uploads", {"filename": "a.pdf", "content_type": "application/pdf",
                                                        "file_size_bytes": 10}).json()
        bad = up["presigned_url"].replace("/content?", "x/content?")
        self.assertIn(requests.put(bad, data=b"0123456789").status_code, (403, 404))
        url = up["presigned_url"]
        sig_bad = url[:-1] + ("0" if url[-1] != "0" else "1")  # always differs from the real signature
        self.assertEqual(requests.put(sig_bad, data=b"0123456789").status_code, 403)
        r = requests.put(up["presigned_url"], data=b"short")
        self.assertEqual(r.status_code, 422, r.text)
        self.assertEqual(r.json()["error"]["type"], "ValidationError")

    def test_hash_mismatch_and_delete(self):
        up = self.c.post("/v1/buckets/media/uploads", {"filename": "b.pdf", "content_type": "application/pdf",
                                                        "file_hash": "0" * 64}).json()
        requests.put(up["presigned_url"], data=b"%PDF-1.4\n%%EOF\n")
        self.assertError(self.c.post(f"/v1/buckets/media/uploads/{up['upload_id']}/confirm", {}), 422)
        self.assertEqual(self.c.delete(f"/v1/buckets/media/uploads/{up['upload_id']}").status_code, 200)
        self.assertError(self.c.get(f"/v1/buckets/media/uploads/{up['upload_id']}"), 404)

    def test_batch_create_is_all_or_nothing(self):
        before = self.c.post("/v1/buckets/media/uploads/list", {}).json()["stats"]["total_uploads"]
        r = self.c.post("/v1/buckets/media/uploads/batch", {
            "uploads": [{"filename": "a.pdf", "content_type": "application/pdf"},
                        {"filename": "b/../c.pdf", "content_type": "application/pdf"}]})
        body = self.assertError(r, 422)
        self.assertEqual(body["error"]["details"]["validation_errors"][0]["location"], "body.uploads[1].filename")
        self.assertEqual(self.c.post("/v1/buckets/media/uploads/list", {}).json()["stats"]["total_uploads"], before)
        r = self.c.post("/v1/buckets/media/uploads/batch", {
            "shared_object_metadata": {"title": "shared"},
            "uploads": [{"filename": "a.pdf", "content_type": "application/pdf", "blob_property": "doc"},
                        {"filename": "b.pdf", "content_type": "application/pdf", "blob_property": "doc",
                         "object_metadata": {"title": "own"}}]})
        self.assertEqual(r.status_code, 200, r.text)
        ups = r.json()["uploads"]
        self.assertEqual(r.json()["total"], 2)
        titles = []
        for i, up in enumerate(ups):
            self.assertEqual(requests.put(up["presigned_url"], data=b"%PDF-1.4\n%" + bytes([i]) + b"\n%%EOF\n").status_code, 200)
            conf = self.c.post(f"/v1/buckets/media/uploads/{up['upload_id']}/confirm", {}).json()
            titles.append(self.c.get(f"/v1/buckets/media/objects/{conf['object_id']}").json()["title"])
        self.assertEqual(titles, ["shared", "own"])

    def test_upload_then_reference_by_upload_id(self):
        up = self.c.post("/v1/buckets/media/uploads", {"filename": "c.pdf", "content_type": "application/pdf",
                                                        "create_object_on_confirm": False}).json()
        requests.put(up["presigned_url"], data=b"%PDF-1.4\n%%EOF\n")
        conf = self.c.post(f"/v1/buckets/media/uploads/{up['upload_id']}/confirm", {}).json()
        self.assertIsNone(conf["object_id"])
        obj = self.c.post("/v1/buckets/media/objects", {
            "title": "by upload", "blobs": [{"property": "doc", "type": "pdf", "upload_id": up["upload_id"]}]})
        self.assertEqual(obj.status_code, 200, obj.text)
        self.assertEqual(obj.json()["blobs"][0]["details"]["mime_type"], "application/pdf")


class ExpiryTest(unittest.TestCase):
    def test_expired_download_url_is_refused(self):
        server = StrataServer(extra_env={"STRATA_PRESIGN_TTL_SECONDS": "1"}).start()
        try:
            c = namespace_client(server.base, "exp")
            c.post("/v1/buckets", {"bucket_name": "b", "bucket_schema": {"properties": {"t": {"type": "text"}}}})
            obj = c.post("/v1/buckets/b/objects", {"blobs": [{"property": "t", "type": "text", "data": "hi"}]}).json()
            url = c.get(f"/v1/buckets/b/objects/{obj['object_id']}", params={"return_url": "true"}).json()["blobs"][0]["url"]
            self.assertEqual(requests.get(url).status_code, 200)
            time.sleep(2.2)
            r = requests.get(url)
            self.assertEqual(r.status_code, 403)
            self.assertIn("expired", r.json()["error"]["message"])
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
