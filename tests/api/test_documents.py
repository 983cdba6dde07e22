"""Documents: create (lineage, vectors), get, list (filters, sort, select,
cursor, groups, vectors), PUT/PATCH/DELETE, bulk and batch updates and
deletes, aggregate, the lineage views, tenant isolation, and documents the
engine made from a bucket."""
import time
import unittest

from harness import ApiTestCase, Client

SCHEMA = {"properties": {"content": {"type": "text"}, "cat": {"type": "string"}}}
TEXT_EXTRACTOR = {"feature_extractor_name": "text_extractor", "version": "v1", "input_mappings": {"text": "content"}}
PASSTHROUGH = {"feature_extractor_name": "passthrough_extractor", "version": "v1"}


class DocumentTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.c = cls.make_client("docs")
        r = cls.c.post("/v1/buckets", {"bucket_name": "src", "bucket_schema": SCHEMA})
        assert r.status_code == 200, r.text
        cls.bucket = r.json()["bucket_id"]
        r = cls.c.post("/v1/buckets/src/objects", {"cat": "news", "blobs": [
            {"property": "content", "type": "text", "data": "The quick brown fox jumps over the lazy dog."}]})
        assert r.status_code == 200, r.text
        cls.obj = r.json()["object_id"]
        cls.notes = cls.make_collection("notes", {"type": "bucket", "bucket_ids": ["src"]}, TEXT_EXTRACTOR)
        cls.plain = cls.make_collection("plain", {"type": "bucket", "bucket_ids": [cls.bucket]}, PASSTHROUGH)
        cls.derived = cls.make_collection("derived", {"type": "collection", "collection_id": cls.notes["collection_id"]},
                                          PASSTHROUGH)
        index = next(v for v in cls.notes["vector_indexes"] if v["index"]["type"] == "dense")
        cls.vector_name = index["name"]
        cls.dims = index["index"]["dimensions"]

    @classmethod
    def make_client(cls, name):
        r = cls.admin.post("/v1/namespaces", {"namespace_name": name, "feature_extractors": [
            {"feature_extractor_name": "text_extractor", "version": "v1"},
            {"feature_extractor_name": "passthrough_extractor", "version": "v1"}]})
        assert r.status_code == 200, r.text
        return Client(cls.server.base, namespace=name, conformance=cls.conformance)

    @classmethod
    def make_collection(cls, name, source, extractor, client=None):
        r = (client or cls.c).post("/v1/collections", {"collection_name": name, "source": source,
                                                      "feature_extractor": extractor})
        assert r.status_code == 200, r.text
        return r.json()

    def docs(self, collection="notes"):
        return f"/v1/collections/{collection}/documents"

    def create(self, body, collection="notes", status=200):
        r = self.c.post(self.docs(collection), body)
        self.assertEqual(r.status_code, status, r.text)
        return r.json()

    def vector(self, x=0.1):
        return [x] * self.dims

    def list(self, body, collection="notes", **params):
        r = self.c.post(self.docs(collection) + "/list", body, params=params)
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()

    def locations(self, r):
        body = self.assertError(r, 422, "ValidationError")
        return [e["location"] for e in body["error"]["details"]["validation_errors"]]

    def test_create_get_vectors_and_urls(self):
        d = self.create({"collection_id": self.notes["collection_id"], "source_object_id": self.obj,
                         "metadata": {"chunk_text": "a note about foxes", "page": 1}, "rating": 5,
                         "features": [{"feature_extractor_id": "text_extractor_v1", "payload": {"chunk_index": 0},
                                       "vectors": {self.vector_name: self.vector(0.25)}}]})
        self.assertTrue(d["document_id"].startswith("doc_"))
        self.assertEqual(d["collection_id"], self.notes["collection_id"])
        self.assertEqual((d["chunk_text"], d["page"], d["rating"], d["chunk_index"]), ("a note about foxes", 1, 5, 0))
        lineage = d["_internal"]["lineage"]
        self.assertEqual(lineage["root_object_id"], self.obj)
        self.assertEqual(lineage["root_bucket_id"], self.bucket)
        self.assertEqual(lineage["source_type"], "bucket")
        self.assertEqual(lineage["path"], f"{self.bucket}/{self.notes['collection_id']}")
        self.assertEqual(d["document_blobs"], [])

        one = f"{self.docs()}/{d['document_id']}"
        got = self.c.get(one).json()
        self.assertNotIn(self.vector_name, got)
        got = self.c.get(one, params={"return_vectors": "true", "return_presigned_urls": "true"}).json()
        self.assertEqual(len(got[self.vector_name]), self.dims)
        self.assertAlmostEqual(got[self.vector_name][0], 0.25, places=5)
        url = got["_internal"]["source_blobs"][0]["url"]
        self.assertEqual(self.c.session.get(url).content, b"The quick brown fox jumps over the lazy dog.")
        # by collection id as well as by name
        self.assertEqual(self.c.get(f"/v1/collections/{self.notes['collection_id']}/documents/{d['document_id']}")
                         .status_code, 200)

    def test_create_errors_write_nothing(self):
        before = self.list({}, include_total="true")["pagination"]["total"]
        feature = lambda vectors, fid="text_extractor_v1": {"features": [{"feature_extractor_id": fid, "vectors": vectors}]}
        cases = [
            (feature({self.vector_name: [0.1, 0.2]}), f"body.features[0].vectors.{self.vector_name}"),
            (feature({"nope": self.vector()}), "body.features[0].vectors.nope"),
            (feature({"indices": [1], "values": [0.5]}), "body.features[0].vectors"),
            (feature({self.vector_name: [[0.1] * self.dims]}), f"body.features[0].vectors.{self.vector_name}"),
            (feature({self.vector_name: self.vector()}, fid="image_extractor_v1"), "body.features[0].feature_extractor_id"),
            ({"_internal": {"namespace_id": "x"}}, "body._internal"),
            ({"document_id": "doc_mine"}, "body.document_id"),
            ({"metadata": [1, 2]}, "body.metadata"),
            ({"features": "nope"}, "body.features"),
            ({"source_document_id": "doc_missing"}, "body.source_document_id"),
            ({"source_object_id": "obj_missing"}, "body.source_object_id"),
            ({"source_type": "elsewhere"}, "body.source_type"),
            ({"collection_id": self.plain["collection_id"]}, "body.collection_id"),
            ({"lineage_chain": [{"collection_id": "c"}]}, "body.lineage_chain[0].feature_extractor_id"),
        ]
        for body, location in cases:
            r = self.c.post(self.docs(), body)
            self.assertIn(location, self.locations(r), body)
        self.assertError(self.c.post(self.docs(), [1, 2]), 422, "ValidationError")
        self.assertError(self.c.post(self.docs("nope"), {}), 404, "NotFoundError")
        after = self.list({}, include_total="true")["pagination"]["total"]
        self.assertEqual(before, after)

    def test_list_filters_sort_select_cursor_and_groups(self):
        col = self.make_collection("listing", {"type": "bucket", "bucket_ids": ["src"]}, PASSTHROUGH)
        path = "listing"
        for i in range(7):
            self.create({"metadata": {"n": i, "kind": "odd" if i % 2 else "even", "title": f"item {i}"}}, path)
        page = self.list({"filters": {"kind": "odd"}, "sort": {"field": "n", "direction": "desc"}}, path,
                         include_total="true")
        self.assertEqual([d["n"] for d in page["results"]], [5, 3, 1])
        self.assertEqual(page["pagination"]["total"], 3)
        self.assertEqual(page["stats"]["total_documents"], 3)
        self.assertIsNone(page["group_by_field"])
        sel = self.list({"select": ["n"], "sort": {"field": "n"}}, path, limit=2)
        self.assertEqual(sel["results"][0], {"n": 0, "document_id": sel["results"][0]["document_id"],
                                             "collection_id": col["collection_id"]})
        seen, cursor = [], None
        while True:
            body = {"sort": {"field": "n"}}
            if cursor:
                body["cursor"] = cursor
            p = self.list(body, path, limit=3)
            seen += [d["n"] for d in p["results"]]
            cursor = p["pagination"]["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, list(range(7)))
        self.assertEqual([d["n"] for d in self.list({"search": "ITEM 4"}, path)["results"]], [4])

        groups = self.list({"group_by": "kind", "sort": {"field": "n"}, "group_limit": 2}, path, limit=1)
        self.assertIsNone(groups["results"])
        self.assertEqual(groups["group_by_field"], "kind")
        self.assertEqual(len(groups["groups"]), 1)
        g = groups["groups"][0]
        self.assertEqual((g["group_key"], g["count"], [d["n"] for d in g["documents"]]), ("even", 4, [0, 2]))
        self.assertEqual(groups["pagination"]["total"], 2)
        self.assertEqual(groups["stats"]["total_groups"], 2)
        nxt = self.list({"group_by": "kind", "sort": {"field": "n"}, "cursor": groups["pagination"]["next_cursor"]},
                        path, limit=1)
        self.assertEqual(nxt["groups"][0]["group_key"], "odd")
        self.assertIsNone(nxt["pagination"]["next_cursor"])

        for bad in ({"return_vectors": "yes"}, {"group_by": 3}, {"sort": {"direction": "up"}}, {"colour": 1},
                    {"filters": {"AND": [{"field": "n", "operator": "equals", "value": 1}]}}):
            self.assertError(self.c.post(self.docs(path) + "/list", bad), 422, "ValidationError")
        self.assertError(self.c.post(self.docs(path) + "/list", {}, params={"limit": "0"}), 422)
        self.assertError(self.c.post(self.docs("nope") + "/list", {}), 404)

    def test_list_returns_vectors(self):
        col = self.make_collection("vectors", {"type": "bucket", "bucket_ids": ["src"]}, TEXT_EXTRACTOR)
        self.create({"metadata": {"chunk_text": "v"}, "features": [
            {"feature_extractor_id": "text_extractor_v1", "vectors": {self.vector_name: self.vector(0.5)}}]}, "vectors")
        with_vectors = self.list({"return_vectors": True}, "vectors")["results"][0]
        self.assertEqual(len(with_vectors[self.vector_name]), self.dims)
        self.assertNotIn(self.vector_name, self.list({}, col["collection_id"])["results"][0])

    def test_put_patch_delete(self):
        d = self.create({"metadata": {"chunk_text": "draft", "tags": {"a": 1, "b": 2}, "keep": True}})
        one = f"{self.docs()}/{d['document_id']}"
        time.sleep(0.01)
        r = self.c.patch(one, {"tags": {"a": None, "c": 3}, "review.state": "ok"})
        self.assertEqual(r.status_code, 200, r.text)
        p = r.json()
        self.assertEqual(p["tags"], {"b": 2, "c": 3})
        self.assertEqual(p["review"], {"state": "ok"})
        self.assertTrue(p["keep"])
        self.assertEqual(p["_internal"]["created_at"], d["_internal"]["created_at"])
        self.assertNotEqual(p["_internal"]["updated_at"], d["_internal"]["updated_at"])
        self.assertEqual(p["_internal"]["lineage"], d["_internal"]["lineage"])
        # what GET returns can be sent back; the server's fields cannot change
        self.assertEqual(self.c.put(one, self.c.get(one).json()).status_code, 200)
        for bad in ({"_internal": {"namespace_id": "other"}}, {"document_id": "doc_x"}, {"_internal.lineage": None},
                    {self.vector_name: self.vector()}, {"document_blobs": [{"field": "x"}]}):
            self.assertError(self.c.patch(one, bad), 422, "ValidationError")
            self.assertError(self.c.put(one, bad), 422, "ValidationError")
        self.assertError(self.c.patch(one, [1]), 422)
        r = self.c.put(one, {"only": "this", "document_blobs": [{"field": "thumb", "url": "https://example.com/t.png",
                                                                 "type": "image", "role": "thumbnail"}]})
        self.assertEqual(r.status_code, 200, r.text)
        put = r.json()
        self.assertNotIn("keep", put)
        self.assertEqual(put["only"], "this")
        self.assertEqual(put["document_blobs"][0]["field"], "thumb")
        self.assertEqual(put["_internal"]["document_id"], d["document_id"])
        self.assertEqual(self.c.get(one, params={"return_presigned_urls": "true"}).json()["document_blobs"][0]
                         ["presigned_url"], "https://example.com/t.png")
        # the document is only under its own collection
        self.assertError(self.c.get(f"{self.docs('plain')}/{d['document_id']}"), 404, "NotFoundError")
        self.assertError(self.c.patch(f"{self.docs('plain')}/{d['document_id']}", {"x": 1}), 404)
        r = self.c.delete(one)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertTrue(r.json()["success"])
        self.assertError(self.c.get(one), 404, "NotFoundError")
        self.assertError(self.c.delete(one), 404)

    def test_bulk_and_batch(self):
        self.make_collection("bulk", {"type": "bucket", "bucket_ids": ["src"]}, PASSTHROUGH)
        ids = [self.create({"metadata": {"n": i, "state": "new" if i < 3 else "old"}}, "bulk")["document_id"]
               for i in range(6)]
        r = self.c.patch(self.docs("bulk") + "/bulk", {"filters": {"state": "new"}, "update_data": {"meta.seen": True}})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["updated_count"], 3)
        self.assertEqual(len(self.list({"filters": {"meta.seen": True}}, "bulk")["results"]), 3)
        self.assertError(self.c.patch(self.docs("bulk") + "/bulk", {"filters": {"state": "new"}}), 422)
        self.assertError(self.c.patch(self.docs("bulk") + "/bulk", {"update_data": {"_internal": {}}}), 422)

        r = self.c.post(self.docs("bulk") + "/batch", {"updates": [
            {"document_id": ids[0], "update_data": {"v": 1}}, {"document_id": "doc_missing", "update_data": {"v": 2}}]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual((r.json()["updated_count"], r.json()["failed_count"]), (1, 1))
        self.assertEqual([x["success"] for x in r.json()["results"]], [True, False])
        r = self.c.post(self.docs("bulk") + "/batch", {"filters": {"state": "old"}, "update_data": {"v": 9}})
        self.assertEqual(r.json()["updated_count"], 3)
        for bad in ({}, {"updates": []}, {"updates": [{"document_id": ids[1]}]},
                    {"updates": [{"document_id": ids[1], "update_data": {"v": 1}}], "filters": {}},
                    {"update_data": {"v": 1}}):
            self.assertError(self.c.post(self.docs("bulk") + "/batch", bad), 422, "ValidationError")

        r = self.c.delete(self.docs("bulk") + "/batch", json={"document_ids": [ids[0], "doc_missing"]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual((r.json()["deleted_count"], r.json()["failed_count"]), (1, 1))
        r = self.c.delete(self.docs("bulk") + "/batch", json={"filters": {"state": "old"}})
        self.assertEqual((r.json()["deleted_count"], r.json()["results"]), (3, []))
        self.assertEqual(self.list({}, "bulk", include_total="true")["pagination"]["total"], 2)
        self.assertError(self.c.delete(self.docs("bulk") + "/batch", json={}), 422)
        self.assertError(self.c.delete(self.docs("bulk") + "/batch", json={"document_ids": "x"}), 422)

    def test_aggregate(self):
        self.make_collection("agg", {"type": "bucket", "bucket_ids": ["src"]}, PASSTHROUGH)
        for i in range(6):
            self.create({"metadata": {"n": i, "kind": "x" if i < 4 else "y"}}, "agg")
        r = self.c.post(self.docs("agg") + "/aggregate", {
            "group_by": [{"field": "kind", "alias": "k"}],
            "aggregations": [{"function": "count", "alias": "docs"}, {"function": "avg", "field": "n", "alias": "avg_n"},
                             {"function": "count_distinct", "field": "n", "alias": "distinct"}],
            "sort_by": "k", "sort_direction": "asc"})
        self.assertEqual(r.status_code, 200, r.text)
        rows = r.json()["results"]
        self.assertEqual([(x["group"]["k"], x["metrics"]["docs"], x["metrics"]["avg_n"]) for x in rows],
                         [("x", 4, 1.5), ("y", 2, 4.5)])
        r = self.c.post(self.docs("agg") + "/aggregate", {
            "group_by": [{"field": "kind"}], "aggregations": [{"function": "count", "alias": "docs"}],
            "having": [{"field": "docs", "operator": "gt", "value": 3}]})
        self.assertEqual([x["group"]["kind"] for x in r.json()["results"]], ["x"])
        r = self.c.post(self.docs("agg") + "/aggregate", {
            "group_by": [{"field": "kind"}], "aggregations": [{"function": "push", "field": "n", "alias": "all"}]})
        body = self.assertError(r, 422, "ValidationError")
        self.assertIn("push", body["error"]["message"])
        for bad in ({"aggregations": [{"function": "count", "alias": "c"}]},
                    {"group_by": [{"field": "kind"}], "aggregations": []},
                    {"group_by": [{"field": "kind", "date_trunc": "day"}], "aggregations": [{"function": "count", "alias": "c"}]},
                    {"group_by": [{"field": "kind"}], "aggregations": [{"function": "count", "alias": "c"}], "unwind": "n"}):
            self.assertError(self.c.post(self.docs("agg") + "/aggregate", bad), 422, "ValidationError")

    def test_lineage_documents_of_object_and_tree(self):
        r = self.c.post("/v1/buckets/src/objects", {"cat": "tree", "blobs": [
            {"property": "content", "type": "text", "data": "root of a tree"}]})
        obj = r.json()["object_id"]
        a1 = self.create({"source_object_id": obj, "metadata": {"chunk_text": "a1"}})["document_id"]
        a2 = self.create({"root_object_id": obj, "metadata": {"chunk_text": "a2"}})["document_id"]
        b1 = self.create({"source_document_id": a1, "metadata": {"label": "b1"}}, "derived")
        self.assertEqual(b1["_internal"]["lineage"]["source_collection_id"], self.notes["collection_id"])
        self.assertEqual(len(b1["_internal"]["lineage"]["chain"]), 2)
        b1 = b1["document_id"]

        r = self.c.get(f"/v1/collections/notes/documents/{a1}/lineage")
        self.assertEqual(r.status_code, 200, r.text)
        lin = r.json()
        self.assertEqual(lin["root_object"], {"object_id": obj, "bucket_id": self.bucket})
        self.assertEqual(lin["ancestors"], [])
        self.assertEqual([(d["document_id"], d["collection_id"]) for d in lin["descendants"]],
                         [(b1, self.derived["collection_id"])])
        lin = self.c.get(f"/v1/collections/derived/documents/{b1}/lineage").json()
        self.assertEqual([d["document_id"] for d in lin["ancestors"]], [a1])
        self.assertEqual(lin["lineage"]["root_object_id"], obj)
        self.assertError(self.c.get(f"/v1/collections/notes/documents/{b1}/lineage"), 404, "NotFoundError")

        r = self.c.get(f"/v1/objects/{obj}/documents")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual((r.json()["total"], r.json()["bucket_id"]), (3, self.bucket))
        self.assertEqual({d["document_id"] for d in r.json()["documents"]}, {a1, a2, b1})
        only = self.c.get(f"/v1/objects/{obj}/documents", params={"collection_ids": "derived"}).json()
        self.assertEqual([d["document_id"] for d in only["documents"]], [b1])
        both = self.c.get(f"/v1/objects/{obj}/documents",
                          params=[("collection_ids", "derived"), ("collection_ids", self.notes["collection_id"])]).json()
        self.assertEqual(both["total"], 3)
        self.assertError(self.c.get(f"/v1/objects/{obj}/documents", params={"collection_ids": "nope"}), 404)
        self.assertError(self.c.get("/v1/objects/obj_missing/documents"), 404, "NotFoundError")

        r = self.c.get(f"/v1/objects/{obj}/decomposition-tree", params={"include_document_ids": "true"})
        self.assertEqual(r.status_code, 200, r.text)
        tree = r.json()
        self.assertEqual((tree["object_id"], tree["bucket_id"]), (obj, self.bucket))
        self.assertEqual(len(tree["tree"]), 1)
        top = tree["tree"][0]
        self.assertEqual((top["collection_id"], top["collection_name"], top["tier"], top["document_count"]),
                         (self.notes["collection_id"], "notes", 1, 2))
        self.assertEqual(top["document_ids"], [a1, a2])
        child = top["children"][0]
        self.assertEqual((child["collection_name"], child["tier"], child["document_ids"]), ("derived", 2, [b1]))
        plain = self.c.get(f"/v1/objects/{obj}/decomposition-tree").json()
        self.assertNotIn("document_ids", plain["tree"][0])
        self.assertError(self.c.get("/v1/objects/obj_missing/decomposition-tree"), 404, "NotFoundError")

        # the object deleted: its documents stay, root_object becomes null
        self.assertEqual(self.c.delete(f"/v1/buckets/src/objects/{obj}").status_code, 200)
        self.assertIsNone(self.c.get(f"/v1/collections/notes/documents/{a1}/lineage").json()["root_object"])
        self.assertEqual(self.c.get(f"/v1/objects/{obj}/documents").json()["total"], 3)

    def test_other_namespace_sees_nothing(self):
        d = self.create({"source_object_id": self.obj, "metadata": {"chunk_text": "private"}})
        other = self.make_client("docs_other")
        self.make_collection("notes", {"type": "bucket", "bucket_ids": [
            other.post("/v1/buckets", {"bucket_name": "src", "bucket_schema": SCHEMA}).json()["bucket_id"]]},
            PASSTHROUGH, client=other)
        for r in (other.get(f"/v1/collections/notes/documents/{d['document_id']}"),
                  other.get(f"/v1/collections/{self.notes['collection_id']}/documents/{d['document_id']}"),
                  other.patch(f"/v1/collections/notes/documents/{d['document_id']}", {"x": 1}),
                  other.delete(f"/v1/collections/notes/documents/{d['document_id']}"),
                  other.get(f"/v1/collections/notes/documents/{d['document_id']}/lineage"),
                  other.get(f"/v1/objects/{self.obj}/documents"),
                  other.get(f"/v1/objects/{self.obj}/decomposition-tree")):
            self.assertError(r, 404, "NotFoundError")
        self.assertEqual(other.post("/v1/collections/notes/documents/list", {}).json()["results"], [])
        self.assertIn("body.source_document_id",
                      self.locations(other.post("/v1/collections/notes/documents", {"source_document_id": d["document_id"]})))
        self.assertEqual(self.c.get(f"{self.docs()}/{d['document_id']}").json()["chunk_text"], "private")

    def test_documents_the_engine_made(self):
        col = self.make_collection("auto", {"type": "bucket", "bucket_ids": ["src"]}, TEXT_EXTRACTOR)
        r = self.c.post("/v1/collections/auto/trigger", {})
        self.assertEqual(r.status_code, 202, r.text)
        deadline = time.time() + 120
        docs = []
        while time.time() < deadline:
            docs = self.list({"filters": {"_internal.lineage.root_object_id": self.obj}}, "auto")["results"]
            if docs:
                break
            time.sleep(0.2)
        self.assertTrue(docs, "the engine wrote no document within 120 s")
        d = docs[0]
        self.assertEqual(d["collection_id"], col["collection_id"])
        self.assertIn("fox", d["chunk_text"])
        got = self.c.get(f"/v1/collections/auto/documents/{d['document_id']}", params={"return_vectors": "true"}).json()
        self.assertEqual(len(got[self.vector_name]), self.dims)
        lin = self.c.get(f"/v1/collections/auto/documents/{d['document_id']}/lineage").json()
        self.assertEqual(lin["root_object"], {"object_id": self.obj, "bucket_id": self.bucket})
        tree = self.c.get(f"/v1/objects/{self.obj}/decomposition-tree").json()
        self.assertIn(col["collection_id"], [n["collection_id"] for n in tree["tree"]])


if __name__ == "__main__":
    unittest.main()
