"""Compatibility with Mixpeek's API v0.81, tested rather than assumed.

- Every path this server serves (its own /v1/openapi.json) exists, with the
  same method, in the reference OpenAPI document (except the presigned-URL
  targets, which stand in for S3).
- A tour calls every served operation once; the harness validates each JSON
  answer against that operation's response schema in the reference document.
Skipped, with a message, where ../shared/reference is not beside the repository.
"""
import re
import time
import unittest

import requests

from harness import PNG_1X1, ApiTestCase, Client

OWN_PATHS = {"/v1/openapi.json", "/v1/uploads/{upload_id}/content", "/v1/blobs/{sha256}"}


def normalise(path):
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/"))


def wait_task(client, task_id, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        t = client.get(f"/v1/tasks/{task_id}").json()
        if t["status"] in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED"):
            return t
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish")


class ConformanceTest(ApiTestCase):
    def setUp(self):
        if self.conformance is None:
            self.skipTest("../shared/reference/mixpeek-openapi-v0.81.json not found: conformance not checked")

    def served(self):
        doc = self.client(key=None).get("/v1/openapi.json").json()
        self.assertEqual(doc["openapi"], "3.1.0")
        return [(m.upper(), p) for p, ops in doc["paths"].items() for m in ops]

    def test_every_served_path_is_in_the_reference(self):
        reference = {(m.upper(), normalise(p)) for p, ops in self.conformance.spec["paths"].items() for m in ops}
        missing = [(m, p) for m, p in self.served()
                   if p not in OWN_PATHS and (m, normalise(p)) not in reference]
        self.assertEqual(missing, [])

    def test_namespace_header_only_where_the_reference_takes_it(self):
        doc = self.client(key=None).get("/v1/openapi.json").json()
        for path, ops in doc["paths"].items():
            if path in OWN_PATHS:
                continue
            for method, op in ops.items():
                ours = any(p["name"] == "X-Namespace" for p in op.get("parameters", []))
                _, ref = self.conformance.operation(method, re.sub(r"\{[^}]+\}", "x", path))
                theirs = any(p.get("name") == "X-Namespace" for p in (ref or {}).get("parameters", []))
                if ours:
                    self.assertTrue(theirs, f"{method} {path} asks for X-Namespace; the reference does not")

    def test_tour_of_every_operation(self):
        admin = self.admin
        seen = set()

        def hit(client, method, path, spec, body=None, params=None, status=200):
            r = client.call(method, path, json=body, params=params)
            self.assertEqual(r.status_code, status, f"{method} {path}: {r.text[:300]}")
            seen.add((method, spec))
            return r.json() if r.content else None

        hit(admin, "GET", "/v1/health", "/v1/health")
        hit(admin, "GET", "/v1/health/liveness", "/v1/health/liveness")
        hit(admin, "GET", "/v1/organizations", "/v1/organizations")
        hit(admin, "PATCH", "/v1/organizations", "/v1/organizations", {"organization_name": "tour"})
        org = hit(admin, "POST", "/v1/private/organizations", "/v1/private/organizations", {"organization_name": "o2"})
        hit(admin, "POST", f"/v1/private/organizations/{org['organization_id']}/users/a@b.c/bootstrap-key",
            "/v1/private/organizations/{organization_id}/users/{user_email}/bootstrap-key")
        keys = "/v1/organizations/users/{user_email}/api-keys"
        hit(admin, "POST", "/v1/organizations/users/t@x.io/api-keys", keys, {"name": "tour"})
        hit(admin, "GET", "/v1/organizations/users/t@x.io/api-keys", keys)
        hit(admin, "PATCH", "/v1/organizations/users/t@x.io/api-keys/tour", keys + "/{key_name}", {"description": "d"})
        hit(admin, "POST", "/v1/organizations/users/t@x.io/api-keys/tour/rotate", keys + "/{key_name}/rotate")
        hit(admin, "DELETE", "/v1/organizations/users/t@x.io/api-keys/tour", keys + "/{key_name}")

        ns = "/v1/namespaces/{namespace_identifier}"
        hit(admin, "POST", "/v1/namespaces", "/v1/namespaces", {
            "namespace_name": "tour", "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v1"}]})
        hit(admin, "POST", "/v1/namespaces/list", "/v1/namespaces/list", {})
        hit(admin, "GET", "/v1/namespaces/tour", ns)
        hit(admin, "PATCH", "/v1/namespaces/tour", ns, {"description": "x"})
        hit(admin, "PUT", "/v1/namespaces/tour", ns, {"namespace_name": "tour"})

        c = Client(self.server.base, namespace="tour", conformance=self.conformance)
        schema = {"properties": {"t": {"type": "text"}, "img": {"type": "image"}, "n": {"type": "integer"}}}
        b = "/v1/buckets/{bucket_identifier}"
        hit(c, "POST", "/v1/buckets", "/v1/buckets", {"bucket_name": "tb", "bucket_schema": schema})
        hit(c, "POST", "/v1/buckets/list", "/v1/buckets/list", {})
        hit(c, "GET", "/v1/buckets/tb", b)
        hit(c, "PATCH", "/v1/buckets/tb", b, {"description": "x"})
        hit(c, "PUT", "/v1/buckets/tb", b, {"bucket_name": "tb", "bucket_schema": schema})
        o = b + "/objects"
        obj = hit(c, "POST", "/v1/buckets/tb/objects", o, {"n": 1, "blobs": [{"property": "t", "type": "text", "data": "hi"}]})
        hit(c, "POST", "/v1/buckets/tb/objects/batch", o + "/batch", {"objects": [{"n": 2}]})
        hit(c, "POST", "/v1/buckets/tb/objects/list", o + "/list", {}, params={"include_total": "true"})
        hit(c, "POST", "/v1/buckets/tb/objects/aggregate", o + "/aggregate",
            {"group_by": [{"field": "n"}], "aggregations": [{"function": "count", "alias": "c"}]})
        one = o + "/{object_identifier}"
        hit(c, "GET", f"/v1/buckets/tb/objects/{obj['object_id']}", one, params={"return_url": "true"})
        hit(c, "PATCH", f"/v1/buckets/tb/objects/{obj['object_id']}", one, {"n": 5})
        hit(c, "PUT", f"/v1/buckets/tb/objects/{obj['object_id']}", one, {"n": 6})
        hit(c, "DELETE", f"/v1/buckets/tb/objects/{obj['object_id']}", one)
        u = b + "/uploads"
        up = hit(c, "POST", "/v1/buckets/tb/uploads", u, {"filename": "a.png", "content_type": "image/png",
                                                         "blob_property": "img"})
        self.assertEqual(requests.put(up["presigned_url"], data=PNG_1X1).status_code, 200)
        hit(c, "POST", "/v1/buckets/tb/uploads/batch", u + "/batch",
            {"uploads": [{"filename": "b.png", "content_type": "image/png", "blob_property": "img"}]})
        hit(c, "POST", f"/v1/buckets/tb/uploads/{up['upload_id']}/confirm", u + "/{upload_id}/confirm", {})
        hit(c, "GET", f"/v1/buckets/tb/uploads/{up['upload_id']}", u + "/{upload_id}")
        hit(c, "POST", "/v1/buckets/tb/uploads/list", u + "/list", {})
        hit(c, "DELETE", f"/v1/buckets/tb/uploads/{up['upload_id']}", u + "/{upload_id}")

        # documents and lineage
        hit(c, "POST", "/v1/collections", "/v1/collections", {
            "collection_name": "tour_docs", "source": {"type": "bucket", "bucket_ids": ["tb"]},
            "feature_extractor": {"feature_extractor_name": "passthrough_extractor", "version": "v1"}})
        root = hit(c, "POST", "/v1/buckets/tb/objects", o, {"n": 7})["object_id"]
        d = "/v1/collections/{collection_identifier}/documents"
        docs = "/v1/collections/tour_docs/documents"
        doc = hit(c, "POST", docs, d, {"source_object_id": root, "metadata": {"n": 1}})["document_id"]
        doc2 = hit(c, "POST", docs, d, {"metadata": {"n": 2}})["document_id"]
        hit(c, "POST", docs + "/list", d + "/list", {"sort": {"field": "n"}}, params={"include_total": "true"})
        hit(c, "POST", docs + "/list", d + "/list", {"group_by": "n"})
        hit(c, "POST", docs + "/aggregate", d + "/aggregate",
            {"group_by": [{"field": "n"}], "aggregations": [{"function": "count", "alias": "c"}]})
        one = d + "/{document_id}"
        hit(c, "GET", f"{docs}/{doc}", one, params={"return_vectors": "true", "return_presigned_urls": "true"})
        hit(c, "PATCH", f"{docs}/{doc}", one, {"n": 3})
        hit(c, "PUT", f"{docs}/{doc}", one, {"n": 4})
        hit(c, "PATCH", docs + "/bulk", d + "/bulk", {"filters": {"n": 4}, "update_data": {"seen": True}})
        hit(c, "POST", docs + "/batch", d + "/batch", {"updates": [{"document_id": doc, "update_data": {"m": 1}}]})
        hit(c, "GET", f"/v1/collections/tour_docs/documents/{doc}/lineage",
            "/v1/collections/{collection_id}/documents/{document_id}/lineage")
        hit(c, "GET", f"/v1/objects/{root}/documents", "/v1/objects/{object_id}/documents",
            params={"collection_ids": "tour_docs"})
        hit(c, "GET", f"/v1/objects/{root}/decomposition-tree", "/v1/objects/{object_id}/decomposition-tree",
            params={"include_document_ids": "true"})
        hit(c, "DELETE", docs + "/batch", d + "/batch", {"document_ids": [doc2]})
        hit(c, "DELETE", f"{docs}/{doc}", one)

        # collections, the extractor registry, batches, tasks
        col = "/v1/collections/{collection_identifier}"
        hit(c, "GET", "/v1/collections/features/extractors", "/v1/collections/features/extractors")
        hit(c, "GET", "/v1/collections/features/extractors/text_extractor_v1",
            "/v1/collections/features/extractors/{feature_extractor_id}")
        hit(c, "POST", "/v1/collections", "/v1/collections", {
            "collection_name": "tour_text", "source": {"type": "bucket", "bucket_ids": ["tb"]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "t"}, "field_passthrough": ["n"]}})
        hit(c, "POST", "/v1/collections/list", "/v1/collections/list", {}, params={"include_total": "true"})
        hit(c, "GET", "/v1/collections/tour_text", col)
        hit(c, "PATCH", "/v1/collections/tour_text", col, {"description": "chunks"})
        hit(c, "GET", "/v1/collections/tour_text/features", col + "/features")
        trig = hit(c, "POST", "/v1/collections/tour_text/trigger", col + "/trigger", {}, status=202)
        hit(c, "GET", f"/v1/tasks/{trig['task_id']}", "/v1/tasks/{task_id}")
        hit(admin, "POST", "/v1/tasks/list", "/v1/tasks/list", {})
        bt = b + "/batches"
        ids = [hit(c, "POST", "/v1/buckets/tb/objects", o, {"n": 9, "blobs": [{"property": "t", "type": "text",
                                                                             "data": "Tour text."}]})["object_id"]]
        batch = hit(c, "POST", "/v1/buckets/tb/batches", bt, {"object_ids": ids})["batch_id"]
        hit(c, "POST", f"/v1/buckets/tb/batches/{batch}/objects", bt + "/{batch_id}/objects", {"object_ids": ids})
        hit(c, "PATCH", f"/v1/buckets/tb/batches/{batch}", bt + "/{batch_id}", {"metadata": {"k": 1}})
        task = hit(c, "POST", f"/v1/buckets/tb/batches/{batch}/submit", bt + "/{batch_id}/submit", {})
        wait_task(c, task["task_id"])
        hit(c, "GET", f"/v1/buckets/tb/batches/{batch}", bt + "/{batch_id}")
        hit(c, "POST", "/v1/buckets/tb/batches/list", bt + "/list", {})
        hit(c, "GET", f"/v1/buckets/tb/batches/{batch}/failed-documents", bt + "/{batch_id}/failed-documents")
        hit(c, "POST", f"/v1/buckets/tb/batches/{batch}/retry", bt + "/{batch_id}/retry", {"retry_mode": "all"})
        other = hit(c, "POST", "/v1/buckets/tb/batches", bt, {"object_ids": ids})["batch_id"]
        hit(c, "POST", f"/v1/buckets/tb/batches/{other}/cancel", bt + "/{batch_id}/cancel", {})
        hit(c, "DELETE", f"/v1/buckets/tb/batches/{other}", bt + "/{batch_id}")
        third = hit(c, "POST", "/v1/buckets/tb/batches", bt, {"object_ids": ids})["batch_id"]
        killed = hit(c, "POST", f"/v1/buckets/tb/batches/{third}/submit", bt + "/{batch_id}/submit", {})
        r = c.delete(f"/v1/tasks/{killed['task_id']}")
        self.assertIn(r.status_code, (200, 409), r.text)  # 409 when it finished before the kill
        seen.add(("DELETE", "/v1/tasks/{task_id}"))
        # retrievers, executions, evaluations
        rt, ret = "/v1/retrievers", "/v1/retrievers/{retriever_id}"
        stages = [{"stage_name": "find", "config": {"stage_id": "feature_search", "parameters": {"searches": [
            {"feature_uri": "mixpeek://text_extractor@v1/use_lite", "query": "{{INPUT.query}}"},
            {"feature_uri": "mixpeek://text_extractor@v1/bm25", "query": "{{INPUT.query}}"}]}}}]
        hit(c, "GET", rt + "/stages", rt + "/stages")
        hit(c, "POST", rt, rt, {"retriever_name": "tour_r", "collection_identifiers": ["tour_text"],
                                "input_schema": {"query": {"type": "string"}}, "stages": stages})
        hit(c, "POST", rt + "/list", rt + "/list", {})
        hit(c, "GET", rt + "/tour_r", ret)
        hit(c, "PATCH", rt + "/tour_r", ret, {"description": "tour"})
        hit(c, "POST", rt + "/tour_r/clone", ret + "/clone", {"retriever_name": "tour_r2"}, status=201)
        found = hit(c, "POST", rt + "/tour_r/execute", ret + "/execute", {"inputs": {"query": "tour"}})
        hit(c, "POST", rt + "/execute", rt + "/execute", {"collection_identifiers": ["tour_text"], "stages": stages,
                                                          "input_schema": {"query": {"type": "string"}},
                                                          "inputs": {"query": "tour"}})
        hit(c, "POST", rt + "/tour_r/execute/explain", ret + "/execute/explain", {"inputs": {"query": "tour"}})
        hit(c, "POST", rt + "/tour_r/executions/list", ret + "/executions/list", {})
        hit(c, "GET", f"{rt}/tour_r/executions/{found['execution_id']}", ret + "/executions/{execution_id}")
        ds = rt + "/evaluations/datasets"
        hit(c, "POST", ds, ds, {"dataset_name": "tour_ds", "queries": [
            {"query_id": "q1", "query_input": {"query": "tour"},
             "relevant_documents": [found["documents"][0]["document_id"]]}]}, status=201)
        hit(c, "GET", ds, ds)
        hit(c, "GET", ds + "/tour_ds", ds + "/{dataset_identifier}")
        ev = hit(c, "POST", rt + "/tour_r/evaluations", ret + "/evaluations", {"dataset_name": "tour_ds"}, status=202)
        hit(c, "GET", rt + "/tour_r/evaluations", ret + "/evaluations")
        hit(c, "GET", f"{rt}/tour_r/evaluations/{ev['evaluation_id']}", ret + "/evaluations/{evaluation_id}")
        hit(c, "DELETE", rt + "/tour_r2", ret)
        hit(c, "DELETE", "/v1/collections/tour_text", col)
        hit(c, "DELETE", "/v1/buckets/tb", b)
        hit(admin, "DELETE", "/v1/namespaces/tour", ns)

        served = {(m, p) for m, p in self.served() if p not in OWN_PATHS}
        self.assertEqual(served - seen, set(), "served operations the tour did not call")


if __name__ == "__main__":
    unittest.main()
