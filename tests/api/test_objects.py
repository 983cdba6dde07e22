"""Objects: the four blob data forms, batch create, list with the filter
language, aggregate, unique keys, duplicates, update and delete."""
import base64
import hashlib
import unittest

from harness import PNG_1X1, ApiTestCase, FileServer, namespace_client

SCHEMA = {"properties": {
    "content": {"type": "text"},
    "photo": {"type": "image"},
    "category": {"type": "string", "enum": ["news", "sports", "tech"]},
    "year": {"type": "integer"},
    "score": {"type": "number"},
    "sku": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "title": {"type": "string"},
}}


class ObjectTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.files = FileServer({"/cat.png": (PNG_1X1, "image/png"), "/note.txt": (b"remote text", "text/plain")})
        cls.c = namespace_client(cls.server.base, "objects", cls.conformance)
        r = cls.c.post("/v1/buckets", {"bucket_name": "items", "bucket_schema": SCHEMA})
        assert r.status_code == 200, r.text
        cls.bucket = r.json()["bucket_id"]

    @classmethod
    def tearDownClass(cls):
        cls.files.close()
        super().tearDownClass()

    def create(self, body, bucket="items", **kw):
        return self.c.post(f"/v1/buckets/{bucket}/objects", body, **kw)

    def test_four_data_forms_and_plain_text(self):
        data_uri = "data:image/png;base64," + base64.b64encode(PNG_1X1).decode()
        forms = [
            {"property": "photo", "type": "image", "data": f"{self.files.base}/cat.png"},
            {"property": "photo", "type": "image", "data": data_uri},
            {"property": "photo", "type": "image",
             "data": {"base64": base64.b64encode(PNG_1X1).decode(), "mime_type": "image/png", "filename": "cat.png"}},
            {"property": "photo", "type": "image", "data": {"url": f"{self.files.base}/cat.png"}},
        ]
        sha = hashlib.sha256(PNG_1X1).hexdigest()
        for blob in forms:
            r = self.create({"category": "news", "year": 2024, "blobs": [
                blob, {"property": "content", "type": "text", "data": "the text itself"}]})
            self.assertEqual(r.status_code, 200, r.text)
            obj = r.json()
            self.assertTrue(obj["object_id"].startswith("obj_"))
            photo = next(b for b in obj["blobs"] if b["property"] == "photo")
            self.assertEqual(photo["details"]["hash"], sha)
            self.assertEqual(photo["details"]["size_bytes"], len(PNG_1X1))
            self.assertEqual(photo["details"]["mime_type"], "image/png")
            text = next(b for b in obj["blobs"] if b["property"] == "content")
            self.assertEqual(text["details"]["size_bytes"], len("the text itself"))
            self.assertEqual(obj["category"], "news")
            self.assertEqual(obj["metadata"]["year"], 2024)

    def test_return_url_downloads_blob_and_tampering_is_refused(self):
        obj = self.create({"blobs": [{"property": "content", "type": "text", "data": "download me"}]}).json()
        got = self.c.get(f"/v1/buckets/items/objects/{obj['object_id']}", params={"return_url": "true"}).json()
        url = got["blobs"][0]["url"]
        r = self.c.session.get(url)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, b"download me")
        tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
        self.assertError(self.c.session.get(tampered), 403, "ForbiddenError")
        longer = url.replace("expires=", "expires=9")
        self.assertError(self.c.session.get(longer), 403)

    def test_schema_validation_writes_nothing(self):
        before = self.c.post("/v1/buckets/items/objects/list", {}, params={"include_total": "true"}).json()
        cases = [
            {"category": "weather"},                                   # not in enum
            {"year": "2024"},                                          # wrong type
            {"colour": "red"},                                         # not in the schema
            {"blobs": [{"property": "photo", "type": "pdf", "data": "x"}]},        # type mismatch
            {"blobs": [{"property": "photo", "type": "image", "data": "not a url"}]},
            {"blobs": [{"property": "photo", "type": "image", "data": {"base64": "!!!"}}]},
            {"blobs": [{"property": "photo", "type": "image", "data": "data:image/png;base64," +
                        base64.b64encode(b"%PDF-1.4 not a png").decode()}]},
            {"category": "news", "blobs": [{"property": "content", "type": "text", "data": "ok"},
                                          {"property": "photo", "type": "image", "data": "http://127.0.0.1:1/x.png"}]},
        ]
        for body in cases:
            r = self.create(body)
            self.assertIn(r.status_code, (400, 422), f"{body}: {r.text}")
            self.assertEqual(r.json()["success"], False)
        after = self.c.post("/v1/buckets/items/objects/list", {}, params={"include_total": "true"}).json()
        self.assertEqual(before["pagination"]["total"], after["pagination"]["total"])

    def test_batch_of_1000_and_listing(self):
        r = self.c.post("/v1/buckets", {"bucket_name": "many", "bucket_schema": SCHEMA})
        self.assertEqual(r.status_code, 200, r.text)
        cats = ["news", "sports", "tech"]
        objects = [{"title": f"Item {i:04d}", "year": 2000 + i % 25, "category": cats[i % 3], "score": i / 10,
                    "tags": ["even" if i % 2 == 0 else "odd", f"t{i % 7}"],
                    "blobs": [{"property": "content", "type": "text", "data": f"body of item {i}"}]}
                   for i in range(1000)]
        objects.append({"category": "bogus"})  # one failure does not sink the batch
        r = self.c.post("/v1/buckets/many/objects/batch", {"objects": objects})
        self.assertEqual(r.status_code, 200, r.text)
        body = r.json()
        self.assertEqual(body["succeeded_count"], 1000)
        self.assertEqual(body["failed_count"], 1)
        self.assertEqual(body["failed"][0]["object_index"], 1000)
        self.assertEqual(self.c.get("/v1/buckets/many").json()["object_count"], 1000)

        def listing(body, **params):
            r = self.c.post("/v1/buckets/many/objects/list", body, params=params)
            self.assertEqual(r.status_code, 200, r.text)
            return r.json()

        total = lambda f: listing({"filters": f}, include_total="true", limit=1)["pagination"]["total"]
        self.assertEqual(total({"category": "news"}), 334)
        self.assertEqual(total({"category": "NEWS"}), 334)  # case-insensitive by default
        self.assertEqual(total({"case_sensitive": True, "AND": [{"field": "category", "value": "NEWS"}]}), 0)
        self.assertEqual(total({"AND": [{"field": "year", "operator": "gte", "value": 2020},
                                        {"field": "category", "operator": "in", "value": ["news", "tech"]}]}),
                         sum(1 for i in range(1000) if 2000 + i % 25 >= 2020 and i % 3 != 1))
        self.assertEqual(total({"OR": [{"field": "year", "operator": "eq", "value": 2000},
                                       {"field": "year", "operator": "eq", "value": 2001}]}), 80)
        self.assertEqual(total({"NOT": [{"field": "category", "operator": "eq", "value": "news"}]}), 666)
        self.assertEqual(total({"AND": [{"field": "tags", "operator": "contains", "value": "odd"}]}), 500)
        self.assertEqual(total({"AND": [{"field": "title", "operator": "starts_with", "value": "item 00"}]}), 100)
        self.assertEqual(total({"AND": [{"field": "title", "operator": "ends_with", "value": "99"}]}), 10)
        self.assertEqual(total({"AND": [{"field": "title", "operator": "regex", "value": "^Item 0[0-4]"}]}), 500)
        self.assertEqual(total({"AND": [{"field": "score", "operator": "lt", "value": 1}]}), 10)
        self.assertEqual(total({"AND": [{"field": "category", "operator": "nin", "value": ["news"]}]}), 666)
        self.assertEqual(total({"AND": [{"field": "sku", "operator": "exists", "value": False}]}), 1000)
        self.assertEqual(total({"AND": [{"field": "title", "operator": "ne", "value": "Item 0000"}]}), 999)
        self.assertEqual(total({"AND": [{"field": "title", "operator": "text", "value": "item 0042"}]}), 1)
        self.assertEqual(total({"AND": [{"field": "sku", "operator": "is_null", "value": True}]}), 0)

        # sort + select + offset pagination
        page = listing({"sort": {"field": "score", "direction": "desc"}, "select": ["title", "score"]},
                       limit=3, offset=3, include_total="true")
        self.assertEqual([o["title"] for o in page["results"]], ["Item 0996", "Item 0995", "Item 0994"])
        self.assertEqual(set(page["results"][0].keys()), {"object_id", "bucket_id", "title", "score"})
        self.assertEqual(page["pagination"]["total"], 1000)
        self.assertEqual(page["pagination"]["page"], 2)
        self.assertEqual(page["pagination"]["total_pages"], 334)

        # cursor pagination walks every object exactly once, also with an in-memory filter
        for filt in ({}, {"AND": [{"field": "title", "operator": "text", "value": "item"}]}):
            seen, cursor = [], None
            while True:
                params = {"limit": 97}
                if cursor:
                    params["cursor"] = cursor
                page = listing({"filters": filt, "sort": {"field": "year", "direction": "asc"}}, **params)
                seen += [o["object_id"] for o in page["results"]]
                cursor = page["pagination"]["next_cursor"]
                if not cursor:
                    break
            self.assertEqual(len(seen), 1000)
            self.assertEqual(len(set(seen)), 1000)

        # a cursor from another sort order is refused
        first = listing({"sort": {"field": "year"}}, limit=5)
        r = self.c.post("/v1/buckets/many/objects/list", {"sort": {"field": "title"}},
                        params={"cursor": first["pagination"]["next_cursor"]})
        self.assertError(r, 400)

        # aggregate
        r = self.c.post("/v1/buckets/many/objects/aggregate", {
            "group_by": [{"field": "category"}],
            "aggregations": [{"function": "count", "alias": "n"}, {"function": "avg", "field": "score", "alias": "avg"}]})
        self.assertEqual(r.status_code, 200, r.text)
        groups = {g["group"]["category"]: g["metrics"]["n"] for g in r.json()["results"]}
        self.assertEqual(groups, {"news": 334, "sports": 333, "tech": 333})

    def test_search_matches_string_values(self):
        self.create({"title": "Needle in a haystack"})
        self.create({"title": "Just hay"})
        r = self.c.post("/v1/buckets/items/objects/list", {"search": "NEEDLE"}, params={"include_total": "true"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual([o["title"] for o in r.json()["results"]], ["Needle in a haystack"])

    def test_filter_errors(self):
        for filt in ({"AND": [{"field": "year", "operator": "equals", "value": 1}]},
                     {"AND": [{"field": "year", "operator": "in", "value": 1}]},
                     {"AND": [{"field": "title", "operator": "regex", "value": "("}]},
                     {"AND": "year"}):
            r = self.c.post("/v1/buckets/items/objects/list", {"filters": filt})
            body = self.assertError(r, 422, "ValidationError")
            self.assertTrue(body["error"]["details"]["validation_errors"][0]["location"].startswith("body.filters"))
        deep = {"field": "year", "value": 1}
        for _ in range(20):  # deeper than the filter's 16 levels, within the body's 64
            deep = {"AND": [deep]}
        self.assertError(self.c.post("/v1/buckets/items/objects/list", {"filters": deep}), 422)

    def test_unique_key_policies(self):
        self.c.post("/v1/buckets", {"bucket_name": "keyed", "bucket_schema": SCHEMA,
                                    "unique_key": {"fields": ["sku"]}})
        # no policy anywhere: 400
        self.assertError(self.create({"sku": "A1"}, bucket="keyed"), 400)
        first = self.create({"sku": "A1", "title": "one"}, bucket="keyed", params={"policy": "insert"})
        self.assertEqual(first.status_code, 200, first.text)
        self.assertError(self.create({"sku": "A1", "title": "two"}, bucket="keyed", params={"policy": "insert"}),
                         409, "AlreadyExistsError")
        self.assertError(self.create({"sku": "B2"}, bucket="keyed", params={"policy": "update"}), 404)
        upd = self.create({"sku": "A1", "title": "three"}, bucket="keyed", params={"policy": "update"}).json()
        self.assertEqual(upd["object_id"], first.json()["object_id"])
        self.assertEqual(upd["title"], "three")
        up = self.create({"sku": "C3"}, bucket="keyed", params={"policy": "upsert"})
        self.assertEqual(up.status_code, 200)
        listed = self.c.post("/v1/buckets/keyed/objects/list", {}, params={"include_total": "true"}).json()
        self.assertEqual(listed["pagination"]["total"], 2)

    def test_skip_duplicates(self):
        body = {"title": "dup", "skip_duplicates": True,
                "blobs": [{"property": "content", "type": "text", "data": "same bytes"}]}
        a = self.create(body).json()
        b = self.create(body).json()
        self.assertEqual(a["object_id"], b["object_id"])
        c = self.create(dict(body, skip_duplicates=False)).json()
        self.assertNotEqual(a["object_id"], c["object_id"])

    def test_put_patch_delete(self):
        obj = self.create({"title": "orig", "year": 2001, "category": "tech",
                           "blobs": [{"property": "content", "type": "text", "data": "v1"}]}).json()
        path = f"/v1/buckets/items/objects/{obj['object_id']}"
        r = self.c.patch(path, {"year": 2002})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual((r.json()["year"], r.json()["title"], r.json()["category"]), (2002, "orig", "tech"))
        self.assertEqual(len(r.json()["blobs"]), 1)
        r = self.c.put(path, {"title": "replaced", "blobs": [{"property": "content", "type": "text", "data": "v2"}]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertNotIn("year", r.json())
        self.assertEqual(r.json()["blobs"][0]["details"]["hash"], hashlib.sha256(b"v2").hexdigest())
        self.assertError(self.c.patch(path, {"year": "soon"}), 422)
        self.assertEqual(self.c.get(path).json()["title"], "replaced")
        self.assertEqual(self.c.delete(path).status_code, 200)
        self.assertError(self.c.get(path), 404)
        self.assertError(self.c.delete(path), 404)

    def test_objects_are_isolated_between_namespaces(self):
        obj = self.create({"title": "private"}).json()
        self.make_namespace("other-objects")
        other = self.client(namespace="other-objects")
        other.post("/v1/buckets", {"bucket_name": "items", "bucket_schema": SCHEMA})
        self.assertError(other.get(f"/v1/buckets/items/objects/{obj['object_id']}"), 404)
        self.assertError(other.get(f"/v1/buckets/{self.bucket}/objects/{obj['object_id']}"), 404)
        self.assertError(other.delete(f"/v1/buckets/items/objects/{obj['object_id']}"), 404)
        self.assertEqual(other.post("/v1/buckets/items/objects/list", {}).json()["results"], [])
        self.assertEqual(self.c.get(f"/v1/buckets/items/objects/{obj['object_id']}").status_code, 200)


if __name__ == "__main__":
    unittest.main()
