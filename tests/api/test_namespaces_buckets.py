"""Namespaces and buckets: CRUD, list, validation, isolation."""
import unittest

from harness import ApiTestCase

SCHEMA = {"properties": {
    "content": {"type": "text", "required": True},
    "photo": {"type": "image"},
    "category": {"type": "string", "enum": ["news", "sports", "tech"]},
    "year": {"type": "integer", "default": 2024},
    "sku": {"type": "string"},
}}


class NamespaceTest(ApiTestCase):
    def test_crud_by_id_and_name(self):
        ns = self.make_namespace("crud-ns")
        self.assertTrue(ns["namespace_id"].startswith("ns_"))
        self.assertEqual(ns["bucket_count"], 0)
        by_name = self.admin.get("/v1/namespaces/crud-ns").json()
        self.assertEqual(by_name["namespace_id"], ns["namespace_id"])
        r = self.admin.patch(f"/v1/namespaces/{ns['namespace_id']}", {"description": "hello",
                             "payload_indexes": [{"field_name": "metadata.category", "type": "keyword"}]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["description"], "hello")
        self.assertEqual(r.json()["payload_indexes"][0]["field_name"], "metadata.category")
        # extractors are locked at creation
        r = self.admin.put(f"/v1/namespaces/{ns['namespace_id']}", {
            "namespace_name": "crud-ns",
            "feature_extractors": [{"feature_extractor_name": "image_extractor", "version": "v1"}]})
        self.assertError(r, 422, "ValidationError")
        r = self.admin.put(f"/v1/namespaces/{ns['namespace_id']}", {"namespace_name": "crud-ns-2"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIsNone(r.json()["description"])  # PUT replaced it
        self.assertEqual(self.admin.delete("/v1/namespaces/crud-ns-2").status_code, 200)
        self.assertError(self.admin.get(f"/v1/namespaces/{ns['namespace_id']}"), 404, "NotFoundError")

    def test_rename_and_delete_take_effect_at_once(self):
        ns = self.make_namespace("ren-a")
        old = self.client(namespace="ren-a")
        self.assertEqual(old.post("/v1/buckets/list", {}).status_code, 200)  # resolves (and caches) the name
        self.admin.patch(f"/v1/namespaces/{ns['namespace_id']}", {"namespace_name": "ren-b"})
        self.assertError(old.post("/v1/buckets/list", {}), 404)
        self.assertEqual(self.client(namespace="ren-b").post("/v1/buckets/list", {}).status_code, 200)
        self.admin.delete("/v1/namespaces/ren-b")
        self.assertError(self.client(namespace="ren-b").post("/v1/buckets/list", {}), 404)
        self.assertError(self.client(namespace=ns["namespace_id"]).post("/v1/buckets/list", {}), 404)
        again = self.make_namespace("ren-b")
        self.assertNotEqual(again["namespace_id"], ns["namespace_id"])
        c = self.client(namespace="ren-b")
        c.post("/v1/buckets", {"bucket_name": "x", "bucket_schema": {"properties": {"a": {"type": "string"}}}})
        self.assertEqual(self.admin.get("/v1/namespaces/ren-b").json()["bucket_count"], 1)

    def test_validation(self):
        r = self.admin.post("/v1/namespaces", {"namespace_name": "bad", "feature_extractors": []})
        body = self.assertError(r, 422, "ValidationError")
        self.assertEqual(body["error"]["details"]["validation_errors"][0]["location"], "body.feature_extractors")
        r = self.admin.post("/v1/namespaces", {
            "namespace_name": "bad",
            "feature_extractors": [{"feature_extractor_name": "clip_magic", "version": "v1"}],
            "payload_indexes": [{"field_name": "x", "type": "vector"}],
            "surprise": 1})
        locs = {e["location"] for e in self.assertError(r, 422)["error"]["details"]["validation_errors"]}
        self.assertEqual(locs, {"body.feature_extractors[0].feature_extractor_name",
                                "body.payload_indexes[0].type", "body.surprise"})
        self.make_namespace("twice")
        self.assertError(self.admin.post("/v1/namespaces", {
            "namespace_name": "twice",
            "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v1"}]}), 409)

    def test_list_with_filters_sort_and_pagination(self):
        for i in range(5):
            self.make_namespace(f"listed-{i}")
        r = self.admin.post("/v1/namespaces/list", {
            "filters": {"AND": [{"field": "namespace_name", "operator": "starts_with", "value": "listed-"}]},
            "sort": {"field": "namespace_name", "direction": "desc"}},
            params={"limit": 2, "include_total": "true"})
        self.assertEqual(r.status_code, 200, r.text)
        body = r.json()
        self.assertEqual([n["namespace_name"] for n in body["results"]], ["listed-4", "listed-3"])
        self.assertEqual(body["pagination"]["total"], 5)
        nxt = self.admin.post("/v1/namespaces/list", {
            "filters": {"AND": [{"field": "namespace_name", "operator": "starts_with", "value": "listed-"}]},
            "sort": {"field": "namespace_name", "direction": "desc"}},
            params={"limit": 2, "cursor": body["pagination"]["next_cursor"]}).json()
        self.assertEqual([n["namespace_name"] for n in nxt["results"]], ["listed-2", "listed-1"])


class BucketTest(ApiTestCase):
    def setUp(self):
        if not hasattr(type(self), "ns"):
            type(self).ns = self.make_namespace("bucket-tests")
        self.c = self.client(namespace="bucket-tests")

    def test_create_get_update_delete(self):
        r = self.c.post("/v1/buckets", {"bucket_name": "articles", "bucket_schema": SCHEMA,
                                        "unique_key": {"fields": ["sku"], "default_policy": "insert"}})
        self.assertEqual(r.status_code, 200, r.text)
        b = r.json()
        self.assertTrue(b["bucket_id"].startswith("bkt_"))
        self.assertEqual(b["object_count"], 0)
        self.assertEqual(b["bucket_schema"]["properties"]["category"]["enum"], ["news", "sports", "tech"])
        self.assertEqual(self.c.get("/v1/buckets/articles").json()["bucket_id"], b["bucket_id"])
        r = self.c.patch(f"/v1/buckets/{b['bucket_id']}", {"description": "news articles"})
        self.assertEqual(r.json()["description"], "news articles")
        self.assertEqual(self.c.post("/v1/buckets/list", {}).json()["results"][0]["bucket_name"], "articles")
        self.assertEqual(self.c.delete("/v1/buckets/articles").status_code, 200)
        self.assertError(self.c.get(f"/v1/buckets/{b['bucket_id']}"), 404)

    def test_schema_validation(self):
        r = self.c.post("/v1/buckets", {"bucket_name": "bad", "bucket_schema": {"properties": {
            "a": {"type": "json"}, "b": {"type": "integer", "default": "x"},
            "c": {"type": "string", "enum": ["x"], "default": "y"}}}})
        locs = {e["location"] for e in self.assertError(r, 422)["error"]["details"]["validation_errors"]}
        self.assertTrue(any(l.startswith("body.bucket_schema.properties.a") for l in locs), locs)
        self.assertTrue(any(l.startswith("body.bucket_schema.properties.b") for l in locs), locs)
        self.assertTrue(any(l.startswith("body.bucket_schema.properties.c") for l in locs), locs)
        r = self.c.post("/v1/buckets", {"bucket_name": "bad2", "bucket_schema": SCHEMA,
                                        "unique_key": {"fields": ["nope"]}})
        self.assertError(r, 422)
        self.assertError(self.c.post("/v1/buckets", {"bucket_schema": SCHEMA}), 422)

    def test_namespace_header(self):
        no_ns = self.client()
        self.assertError(no_ns.post("/v1/buckets/list", {}), 400, "BadRequestError")
        bad_ns = self.client(namespace="does-not-exist")
        self.assertError(bad_ns.post("/v1/buckets/list", {}), 404, "NotFoundError")

    def test_buckets_are_isolated_between_namespaces(self):
        self.make_namespace("iso-a")
        self.make_namespace("iso-b")
        a, b = self.client(namespace="iso-a"), self.client(namespace="iso-b")
        bucket = a.post("/v1/buckets", {"bucket_name": "secret", "bucket_schema": SCHEMA}).json()
        self.assertError(b.get(f"/v1/buckets/{bucket['bucket_id']}"), 404)
        self.assertError(b.get("/v1/buckets/secret"), 404)
        self.assertError(b.patch(f"/v1/buckets/{bucket['bucket_id']}", {"description": "pwned"}), 404)
        self.assertError(b.delete(f"/v1/buckets/{bucket['bucket_id']}"), 404)
        self.assertEqual(b.post("/v1/buckets/list", {}).json()["results"], [])
        self.assertIsNone(a.get("/v1/buckets/secret").json()["description"])


if __name__ == "__main__":
    unittest.main()
