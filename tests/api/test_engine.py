"""The processing engine through the API: collections over buckets and over
collections, batches run tier by tier, tasks, re-submission without
duplicates, structured errors, retry and cancel, auto_process, lineage, and a
SIGKILL in the middle of a batch."""
import os
import signal
import sqlite3
import time
import unittest

import requests

from harness import ApiTestCase, Client, StrataServer, namespace_client

TERMINAL = ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED")
SCHEMA = {"properties": {"body": {"type": "string"}, "content": {"type": "text"},
                         "category": {"type": "string"}, "n": {"type": "integer"}}}
TEXT = ("Strata keeps every document's lineage. Chunks know their source object. "
        "Batches run tier by tier. Tasks report the truth.")


def wait_task(client, task_id, timeout=300, on_poll=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        task = client.get(f"/v1/tasks/{task_id}").json()
        if on_poll:
            on_poll(task)
        if task["status"] in TERMINAL:
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish in {timeout} s")


def text_collection(name, source, **params):
    return {"collection_name": name, "source": source,
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "parameters": params, "input_mappings": {"text": "body"},
                                  "field_passthrough": ["category", {"source_path": "n", "target_path": "number"}]}}


def create_objects(client, bucket, objects, **params):
    ids = []
    for i in range(0, len(objects), 1000):
        r = client.post(f"/v1/buckets/{bucket}/objects/batch", {"objects": objects[i:i + 1000]}, params=params)
        assert r.status_code == 200, r.text
        assert r.json()["failed_count"] == 0, r.text[:500]
        ids += [o["object_id"] for o in r.json()["succeeded"]]
    return ids


def submit(client, bucket, ids):
    batch = client.post(f"/v1/buckets/{bucket}/batches", {"object_ids": ids}).json()
    task = client.post(f"/v1/buckets/{bucket}/batches/{batch['batch_id']}/submit", {}).json()
    return batch["batch_id"], task["task_id"]


class EngineTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.c = namespace_client(cls.server.base, "engine", cls.conformance)
        assert cls.c.post("/v1/buckets", {"bucket_name": "texts", "bucket_schema": SCHEMA}).status_code == 200
        r = cls.c.post("/v1/collections", text_collection(
            "chunks", {"type": "bucket", "bucket_ids": ["texts"]}, split_by="sentences", chunk_size=2))
        assert r.status_code == 200, r.text
        cls.chunks = r.json()
        r = cls.c.post("/v1/collections", {
            "collection_name": "slim", "source": {"type": "collection", "collection_id": "chunks"},
            "feature_extractor": {"feature_extractor_name": "passthrough_extractor", "version": "v1",
                                  "field_passthrough": ["chunk_text"]}})
        assert r.status_code == 200, r.text
        cls.slim = r.json()

    def documents(self, collection, **body):
        r = self.c.post(f"/v1/collections/{collection}/documents/list", body,
                        params={"include_total": "true", "limit": 1000})
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()

    def test_collection_schema_indexes_and_registry(self):
        props = self.chunks["output_schema"]["properties"]
        self.assertEqual(sorted(props), ["category", "chunk_index", "chunk_text", "embedding_truncated", "language", "number", "total_chunks"])
        uris = {v["feature_uri"]: v for v in self.chunks["vector_indexes"]}
        dense = uris["mixpeek://text_extractor@v1/glove_100d"]
        self.assertEqual(dense["index"]["dimensions"], 100)
        self.assertEqual(dense["name"], "text_extractor_v1_embedding")
        self.assertEqual(uris["mixpeek://text_extractor@v1/bm25"]["index"]["type"], "sparse")
        # the same definition gives the same schema and indexes
        again = self.c.post("/v1/collections", text_collection(
            "chunks_again", {"type": "bucket", "bucket_ids": ["texts"]}, split_by="sentences", chunk_size=2)).json()
        self.assertEqual(again["output_schema"], self.chunks["output_schema"])
        self.assertEqual(again["vector_indexes"], self.chunks["vector_indexes"])
        self.c.delete(f"/v1/collections/{again['collection_id']}")
        self.assertEqual(self.slim["output_schema"]["properties"], {"chunk_text": props["chunk_text"]})
        self.assertEqual([l["feature_extractor"]["feature_extractor_id"] for l in self.slim["source_lineage"]],
                         ["text_extractor_v1", "passthrough_extractor_v1"])
        features = self.c.get("/v1/collections/chunks/features").json()["features"]
        self.assertEqual(features[0]["feature_address"], "mixpeek://text_extractor@v1/glove_100d")
        names = [e["feature_extractor_id"] for e in self.c.get("/v1/collections/features/extractors").json()]
        self.assertEqual(names, ["text_extractor_v1", "passthrough_extractor_v1", "image_extractor_v1",
                                 "multimodal_extractor_v1", "document_graph_extractor_v1",
                                 "face_identity_extractor_v1"])

    def test_bad_collection_definitions_name_the_field(self):
        src = {"type": "bucket", "bucket_ids": ["texts"]}
        cases = [
            (text_collection("x1", src, chunk_size=0), "body.feature_extractor.parameters.chunk_size"),
            (text_collection("x2", src, split_by="lines"), "body.feature_extractor.parameters.split_by"),
            (text_collection("x3", src, bogus=1), "body.feature_extractor.parameters.bogus"),
            (text_collection("x4", src, split_by="words", chunk_size=5, chunk_overlap=5),
             "body.feature_extractor.parameters.chunk_overlap"),
            (text_collection("x5", src, embedding_model="glove-300d"),
             "body.feature_extractor.parameters.embedding_model"),  # locked by the namespace
            (text_collection("x6", {"type": "bucket", "bucket_ids": ["nope"]}), "body.source.bucket_ids[0]"),
            (text_collection("x7", {"type": "collection", "collection_id": "nope"}), "body.source.collection_id"),
        ]
        for body, loc in cases:
            r = self.c.post("/v1/collections", body)
            self.assertEqual(r.status_code, 422, (loc, r.text))
            locs = [e["location"] for e in r.json()["error"]["details"]["validation_errors"]]
            self.assertIn(loc, locs, r.text)
        bad_map = text_collection("x8", src)
        bad_map["feature_extractor"]["input_mappings"] = {"text": "missing_field"}
        self.assertEqual(self.c.post("/v1/collections", bad_map).status_code, 422)
        r = self.c.patch("/v1/collections/chunks", {"feature_extractor": {}})
        self.assertEqual(r.status_code, 422, r.text)
        names = [c["collection_name"] for c in self.c.post("/v1/collections/list", {}).json()["results"]]
        self.assertFalse(any(n.startswith("x") for n in names))

    def test_ten_thousand_objects_two_tiers_resubmit_and_lineage(self):
        texts = [{"body": f"Item {i} starts here. It has a middle. And an end.", "category": ["a", "b"][i % 2],
                  "n": i} for i in range(10000)]
        ids = create_objects(self.c, "texts", texts)
        batch_id, task_id = submit(self.c, "texts", ids)
        seen_tiers = set()

        def watch(_task):
            b = self.c.get(f"/v1/buckets/texts/batches/{batch_id}").json()
            for t in b["tier_tasks"]:
                if t["status"] == "IN_PROGRESS" or t["documents_written"]:
                    seen_tiers.add(t["tier_num"])

        task = wait_task(self.c, task_id, on_poll=watch)
        self.assertEqual(task["status"], "COMPLETED", task)
        batch = self.c.get(f"/v1/buckets/texts/batches/{batch_id}").json()
        self.assertEqual(batch["status"], "COMPLETED")
        self.assertEqual(batch["dag_tiers"], [[self.chunks["collection_id"]], [self.slim["collection_id"]]])
        t0, t1 = batch["tier_tasks"]
        self.assertEqual((t0["source_documents_fetched"], t0["documents_written"]), (10000, 20000))
        self.assertEqual((t1["source_documents_fetched"], t1["documents_written"]), (20000, 20000))
        self.assertEqual(t1["source_type"], "collection")
        self.assertTrue(seen_tiers, "progress was visible while the batch ran")
        self.assertEqual(self.c.get(f"/v1/tasks/{t0['task_id']}").json()["status"], "COMPLETED")

        # documents: root fields, lineage, filters
        page = self.documents("chunks", filters={"AND": [{"field": "number", "operator": "eq", "value": 7}]})
        self.assertEqual(page["pagination"]["total"], 2)
        doc = sorted(page["results"], key=lambda d: d["chunk_index"])[0]
        self.assertEqual((doc["chunk_text"], doc["total_chunks"], doc["category"], doc["language"]),
                         ("Item 7 starts here. It has a middle.", 2, "b", "en"))
        lin = doc["_internal"]["lineage"]
        self.assertEqual((lin["root_object_id"], lin["source_type"]), (ids[7], "bucket"))
        vec = self.c.get(f"/v1/collections/chunks/documents/{doc['document_id']}",
                         params={"return_vectors": "true"}).json()["text_extractor_v1_embedding"]
        self.assertEqual(len(vec), 100)

        tree = self.c.get(f"/v1/objects/{ids[7]}/decomposition-tree", params={"include_document_ids": "true"}).json()
        self.assertIn(self.chunks["collection_id"], str(tree))
        self.assertIn(self.slim["collection_id"], str(tree))
        by_obj = self.c.get(f"/v1/objects/{ids[7]}/documents").json()
        self.assertEqual(len(by_obj["documents"]), 4)  # 2 chunks + 2 slim copies
        slim_doc = [d for d in by_obj["documents"] if d["collection_id"] == self.slim["collection_id"]][0]
        chain = slim_doc["_internal"]["lineage"]["chain"]
        self.assertEqual([s["collection_id"] for s in chain], [self.chunks["collection_id"], self.slim["collection_id"]])
        lineage = self.c.get(f"/v1/collections/slim/documents/{slim_doc['document_id']}/lineage").json()
        self.assertIn(self.chunks["collection_id"], str(lineage))

        # re-submitting the same objects upserts: the same ids, no duplicates
        before = {d["document_id"] for d in self.documents("chunks", filters={"number": 7})["results"]}
        _, task2 = submit(self.c, "texts", ids[:100])
        self.assertEqual(wait_task(self.c, task2)["status"], "COMPLETED")
        self.assertEqual(self.documents("chunks")["pagination"]["total"], 20000)
        self.assertEqual(self.documents("slim")["pagination"]["total"], 20000)
        after = {d["document_id"] for d in self.documents("chunks", filters={"number": 7})["results"]}
        self.assertEqual(before, after)
        ns = self.c.get("/v1/namespaces/engine").json()
        self.assertGreaterEqual(ns["document_count"], 40000)

    def test_unreadable_objects_end_with_structured_errors(self):
        self.c.post("/v1/buckets", {"bucket_name": "bad", "bucket_schema": SCHEMA})
        col = self.c.post("/v1/collections", {
            "collection_name": "bad_chunks", "source": {"type": "bucket", "bucket_ids": ["bad"]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "content"}}}).json()
        good = create_objects(self.c, "bad", [{"blobs": [{"property": "content", "type": "text", "data": TEXT}]}])
        missing = create_objects(self.c, "bad", [{"category": "no content"}])
        uploaded = {}
        for name, payload in (("latin1.txt", "café".encode("latin-1")), ("empty.txt", b"")):
            up = self.c.post("/v1/buckets/bad/uploads", {"filename": name, "content_type": "text/plain",
                                                         "blob_property": "content", "blob_type": "text"}).json()
            self.assertEqual(requests.put(up["presigned_url"], data=payload).status_code, 200)
            conf = self.c.post(f"/v1/buckets/bad/uploads/{up['upload_id']}/confirm", {})
            self.assertEqual(conf.status_code, 200, conf.text)
            uploaded[name] = conf.json()["object_id"]
        ids = good + missing + list(uploaded.values())
        batch_id, task_id = submit(self.c, "bad", ids)
        task = wait_task(self.c, task_id)
        self.assertEqual(task["status"], "COMPLETED_WITH_ERRORS", task)
        failed = self.c.get(f"/v1/buckets/bad/batches/{batch_id}/failed-documents").json()
        self.assertEqual(failed["total"], 3)
        by_object = {f["object_id"]: f for f in failed["failed_documents"]}
        self.assertEqual(set(by_object), set(missing + list(uploaded.values())))
        for f in failed["failed_documents"]:
            self.assertEqual(f["error_type"], "validation")
            self.assertTrue(f["recovery_suggestion"])
            self.assertEqual(f["affected_document_ids"], [f["object_id"]])
        self.assertIn("invalid UTF-8", by_object[uploaded["latin1.txt"]]["message"])
        self.assertIn("0 bytes", by_object[uploaded["empty.txt"]]["message"])
        self.assertIn("content", by_object[missing[0]]["message"])
        batch = self.c.get(f"/v1/buckets/bad/batches/{batch_id}").json()
        self.assertEqual(batch["error_summary"], {"validation": 3})
        self.assertEqual(batch["tier_tasks"][0]["documents_missing_input_fields"], 1)
        self.assertEqual(self.documents("bad_chunks")["pagination"]["total"], 1)  # only the good object
        # validation errors are not transient; retry_mode=all runs them again (and they fail again)
        r = self.c.post(f"/v1/buckets/bad/batches/{batch_id}/retry", {"retry_mode": "transient_only"}).json()
        self.assertEqual(r["retried_object_count"], 0)
        r = self.c.post(f"/v1/buckets/bad/batches/{batch_id}/retry", {"retry_mode": "all"}).json()
        self.assertEqual(r["retried_object_count"], 3)
        self.assertEqual(wait_task(self.c, task_id)["status"], "COMPLETED_WITH_ERRORS")
        self.assertEqual(self.c.get(f"/v1/buckets/bad/batches/{batch_id}/failed-documents").json()["total"], 3)
        self.assertEqual(self.documents("bad_chunks")["pagination"]["total"], 1)
        # deleting the collection deletes its documents
        self.assertEqual(self.c.delete(f"/v1/collections/{col['collection_id']}").status_code, 200)
        self.assertEqual(self.c.get(f"/v1/collections/{col['collection_id']}").status_code, 404)

    def test_auto_process_trigger_cancel_and_task_list(self):
        self.c.post("/v1/buckets", {"bucket_name": "auto", "bucket_schema": SCHEMA})
        self.c.post("/v1/collections", text_collection("auto_chunks", {"type": "bucket", "bucket_ids": ["auto"]}))
        r = self.c.post("/v1/buckets/auto/objects", {"body": TEXT, "n": 1}, params={"auto_process": "true"})
        self.assertEqual(r.status_code, 200, r.text)
        deadline = time.time() + 60
        while self.documents("auto_chunks")["pagination"]["total"] == 0 and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.documents("auto_chunks")["pagination"]["total"], 1)
        trig = self.c.post("/v1/collections/auto_chunks/trigger", {})
        self.assertEqual(trig.status_code, 202, trig.text)
        self.assertEqual(trig.json()["object_count"], 1)
        self.assertEqual(wait_task(self.c, trig.json()["task_id"])["status"], "COMPLETED")
        self.assertEqual(self.documents("auto_chunks")["pagination"]["total"], 1)
        # a DRAFT batch can be canceled; a finished one cannot
        ids = [self.c.post("/v1/buckets/auto/objects/list", {}).json()["results"][0]["object_id"]]
        draft = self.c.post("/v1/buckets/auto/batches", {"object_ids": ids}).json()
        canceled = self.c.post(f"/v1/buckets/auto/batches/{draft['batch_id']}/cancel", {}).json()
        self.assertEqual(canceled["status"], "CANCELED")
        self.assertEqual(self.c.post(f"/v1/buckets/auto/batches/{draft['batch_id']}/cancel", {}).status_code, 409)
        self.assertEqual(self.c.post(f"/v1/buckets/auto/batches/{draft['batch_id']}/submit", {}).status_code, 409)
        listed = self.c.post("/v1/tasks/list", {"task_type": "api_collections_trigger"}).json()["results"]
        self.assertIn(trig.json()["task_id"], [t["task_id"] for t in listed])
        # batches that name objects of another bucket, or none, are refused
        self.assertEqual(self.c.post("/v1/buckets/auto/batches", {"object_ids": ["obj_nope"]}).status_code, 422)
        self.assertEqual(self.c.post("/v1/buckets/auto/batches", {}).status_code, 422)
        # tasks of another organisation's key are not visible
        other = Client(self.server.base)
        self.assertEqual(other.get("/v1/tasks/tsk_doesnotexist").status_code, 404)


class KillTest(unittest.TestCase):
    def test_sigkill_mid_batch_finishes_after_restart(self):
        server = StrataServer(extra_args=["--workers", "1"]).start()
        try:
            c = namespace_client(server.base, "killed")
            c.post("/v1/buckets", {"bucket_name": "texts", "bucket_schema": SCHEMA})
            c.post("/v1/collections", text_collection(
                "chunks", {"type": "bucket", "bucket_ids": ["texts"]}, split_by="sentences", chunk_size=1))
            n = 6000
            ids = create_objects(c, "texts", [{"body": f"Object {i}. Second. Third.", "n": i} for i in range(n)])
            batch_id, task_id = submit(c, "texts", ids)
            deadline = time.time() + 120
            while time.time() < deadline:
                t = c.get(f"/v1/buckets/texts/batches/{batch_id}").json()["tier_tasks"][0]
                if t["documents_written"] > 0:
                    break
                time.sleep(0.01)
            self.assertLess(t["documents_written"], 3 * n, "the batch finished before the kill")
            server.stop(signal.SIGKILL)
            server.start()
            c.base = server.base
            task = wait_task(c, task_id)
            self.assertEqual(task["status"], "COMPLETED", task)
            t0 = c.get(f"/v1/buckets/texts/batches/{batch_id}").json()["tier_tasks"][0]
            self.assertEqual(t0["documents_written"], 3 * n)  # the counters tell the truth: no double count
            total = c.post("/v1/collections/chunks/documents/list", {}, params={"include_total": "true"}).json()
            self.assertEqual(total["pagination"]["total"], 3 * n)  # nothing lost, nothing duplicated
        finally:
            server.cleanup()

    def test_a_job_interrupted_again_and_again_is_given_up_then_retried(self):
        server = StrataServer(extra_args=["--workers", "1"]).start()
        try:
            c = namespace_client(server.base, "poison")
            c.post("/v1/buckets", {"bucket_name": "texts", "bucket_schema": SCHEMA})
            c.post("/v1/collections", text_collection(
                "chunks", {"type": "bucket", "bucket_ids": ["texts"]}, split_by="sentences", chunk_size=1))
            n = 2000
            ids = create_objects(c, "texts", [{"body": f"Object {i}. Second.", "n": i} for i in range(n)])
            batch_id, task_id = submit(c, "texts", ids)
            server.stop(signal.SIGKILL)
            # As if the oldest unfinished job had already taken the server down
            # three times: the real queue in the real database file says so.
            db = sqlite3.connect(os.path.join(server.data_dir, "strata.db"))
            with db:
                db.execute("UPDATE jobs SET attempts = 3 WHERE seq = (SELECT MIN(seq) FROM jobs)")
                left = db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
            db.close()
            self.assertGreater(left, 0, "the batch finished before the kill")
            server.start()
            c.base = server.base
            task = wait_task(c, task_id)
            self.assertEqual(task["status"], "COMPLETED_WITH_ERRORS", task)
            failed = c.get(f"/v1/buckets/texts/batches/{batch_id}/failed-documents",
                           params={"limit": 1}).json()
            self.assertGreater(failed["total"], 0)
            self.assertLessEqual(failed["total"], 512)  # one job's objects, not the batch's
            err = failed["failed_documents"][0]
            self.assertEqual(err["error_type"], "runtime")
            self.assertIn("interrupted", err["message"])
            # the failure is transient: a retry runs those objects again, and the batch completes
            r = c.post(f"/v1/buckets/texts/batches/{batch_id}/retry", {"retry_mode": "transient_only"})
            self.assertEqual(r.status_code, 200, r.text)
            task = wait_task(c, task_id)
            self.assertEqual(task["status"], "COMPLETED", task)
            total = c.post("/v1/collections/chunks/documents/list", {}, params={"include_total": "true"}).json()
            self.assertEqual(total["pagination"]["total"], 2 * n)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
