"""image_extractor@v1 through the API: a bucket with an image blob field, a
collection over it, one document per image with width, height and phash, the
thumbnail in document_blobs behind a presigned URL that serves a JPEG, a
visual-similarity search ranking the near-duplicate right after the original,
full-text search finding the picture by a word drawn in it, and a truncated
JPEG ending as an item error of its batch while the others succeed. The
images are drawn at test time with PIL."""
import base64
import os
import subprocess
import sys
import unittest

import requests

from harness import ApiTestCase, Client
from test_engine import create_objects, submit, wait_task

VISUAL = "mixpeek://image_extractor@v1/visual_features"
PHASH = "mixpeek://image_extractor@v1/phash"
BM25 = "mixpeek://image_extractor@v1/bm25"

FIXTURES = r'''
import random, sys
from PIL import Image, ImageDraw, ImageFont
d = sys.argv[1]
def photo(seed, w=640, h=480):
    rnd = random.Random(seed)
    img = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    tint = Image.new("RGB", (w, h), tuple(rnd.randint(0, 255) for _ in range(3)))
    img = Image.blend(img, tint, 0.5)
    dr = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = rnd.randint(0, w - 60), rnd.randint(0, h - 60)
        box = [x0, y0, x0 + rnd.randint(30, 220), y0 + rnd.randint(30, 200)]
        col = tuple(rnd.randint(0, 255) for _ in range(3))
        (dr.ellipse if rnd.random() < 0.5 else dr.rectangle)(box, fill=col)
    return img
p = photo(1)
p.save(d + "/photo.jpg", quality=92)
p.resize((400, 300), Image.LANCZOS).save(d + "/near.jpg", quality=60)
photo(2).save(d + "/other.jpg", quality=92)
photo(3).convert("L").save(d + "/gray.png")
t = Image.new("RGB", (900, 200), (248, 248, 240))
ImageDraw.Draw(t).text((30, 60), "Lighthouse keeper inventory", font=ImageFont.truetype("DejaVuSans.ttf", 40),
                       fill=(20, 20, 20))
t.save(d + "/sign.png")
raw = open(d + "/other.jpg", "rb").read()
open(d + "/corrupt.jpg", "wb").write(raw[:len(raw) // 2])
'''


def python_with_pil():
    for exe in (sys.executable, "/usr/bin/python3", "python3"):
        if exe and subprocess.run([exe, "-c", "import PIL.ImageFont"], capture_output=True).returncode == 0:
            return exe
    return None


def image_blob(path, mime):
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode()
    return {"property": "picture", "type": "image",
            "data": {"base64": data, "mime_type": mime, "filename": os.path.basename(path)}}


class ImageExtractorTest(ApiTestCase):
    NAMES = ("photo.jpg", "near.jpg", "other.jpg", "gray.png", "sign.png", "corrupt.jpg")

    @classmethod
    def setUpClass(cls):
        exe = python_with_pil()
        if exe is None:
            raise unittest.SkipTest("the image fixtures need python3 with PIL (python3-pil)")
        super().setUpClass()
        cls.make_temp_dir("strata-images-")
        script = os.path.join(cls.dir, "fixtures.py")
        with open(script, "w") as f:
            f.write(FIXTURES)
        subprocess.run([exe, script, cls.dir], check=True)
        c = cls.c = Client(cls.server.base, conformance=cls.conformance)
        r = c.post("/v1/namespaces", {"namespace_name": "images", "feature_extractors": [
            {"feature_extractor_name": "image_extractor", "version": "v1"}]})
        assert r.status_code == 200, r.text
        c.namespace = "images"
        r = c.post("/v1/buckets", {"bucket_name": "pictures", "bucket_schema": {
            "properties": {"picture": {"type": "image"}, "name": {"type": "string"}}}})
        assert r.status_code == 200, r.text
        r = c.post("/v1/collections", {
            "collection_name": "pics", "source": {"type": "bucket", "bucket_ids": ["pictures"]},
            "feature_extractor": {"feature_extractor_name": "image_extractor", "version": "v1",
                                  "input_mappings": {"image": "picture"}, "field_passthrough": ["name"]}})
        assert r.status_code == 200, r.text
        cls.collection = r.json()
        objects = []
        for n in cls.NAMES:
            mime = "image/png" if n.endswith(".png") else "image/jpeg"
            objects.append({"name": n, "blobs": [image_blob(os.path.join(cls.dir, n), mime)]})
        ids = create_objects(c, "pictures", objects)
        cls.object_ids = dict(zip(cls.NAMES, ids))
        cls.batch_id, task = submit(c, "pictures", ids)
        cls.task = wait_task(c, task)


    def documents(self):
        r = self.c.post("/v1/collections/pics/documents/list", {}, params={"limit": 100, "include_total": "true"})
        self.assertEqual(r.status_code, 200, r.text)
        return {d["name"]: d for d in r.json()["results"]}

    def search(self, feature_uri, query, top_k=10):
        r = self.c.post("/v1/retrievers/execute", {
            "collection_identifiers": ["pics"], "input_schema": {"q": {"type": "string"}},
            "inputs": {"q": "unused"},
            "stages": [{"stage_name": "s", "config": {"stage_id": "feature_search", "parameters": {
                "searches": [{"feature_uri": feature_uri, "query": query, "top_k": top_k}],
                "final_top_k": top_k}}}]})
        self.assertEqual(r.status_code, 200, r.text)
        return [d["name"] for d in r.json()["documents"]]

    def test_collection_describes_the_outputs(self):
        props = self.collection["output_schema"]["properties"]
        for f in ("width", "height", "format", "mime_type", "exif", "phash", "ocr_text", "faces", "objects",
                  "caption", "name"):
            self.assertIn(f, props)
        uris = [v["feature_uri"] for v in self.collection["vector_indexes"]]
        for u in (VISUAL, PHASH, BM25):
            self.assertIn(u, uris)
        self.assertIn("mixpeek://image_extractor@v1/mobilenet_v2", uris)  # the default image model
        # and the caption and OCR text's embedding, by the default text model
        self.assertEqual(len(uris), 5, uris)

    def test_documents_have_size_hash_and_a_thumbnail_behind_a_presigned_url(self):
        self.assertEqual(self.task["status"], "COMPLETED_WITH_ERRORS", self.task)
        docs = self.documents()
        self.assertEqual(sorted(docs), sorted(n for n in self.NAMES if n != "corrupt.jpg"))
        self.assertEqual((docs["photo.jpg"]["width"], docs["photo.jpg"]["height"]), (640, 480))
        self.assertEqual((docs["near.jpg"]["width"], docs["near.jpg"]["height"]), (400, 300))
        self.assertEqual(docs["gray.png"]["format"], "png")
        for d in docs.values():
            self.assertRegex(d["phash"], r"^[0-9a-f]{16}$")
            self.assertEqual(d["mime_type"], "image/" + d["format"])
        near_bits = bin(int(docs["photo.jpg"]["phash"], 16) ^ int(docs["near.jpg"]["phash"], 16)).count("1")
        self.assertLessEqual(near_bits, 6)
        doc = docs["photo.jpg"]
        r = self.c.get(f"/v1/collections/pics/documents/{doc['document_id']}",
                       params={"return_presigned_urls": "true"})
        self.assertEqual(r.status_code, 200, r.text)
        blobs = [b for b in r.json()["document_blobs"] if b["field"] == "thumbnail"]
        self.assertEqual(len(blobs), 1, r.json()["document_blobs"])
        self.assertEqual(blobs[0]["role"], "thumbnail")
        self.assertEqual(blobs[0]["content_type"], "image/jpeg")
        url = blobs[0]["presigned_url"]
        if url.startswith("/"):
            url = self.server.base + url
        got = requests.get(url, timeout=30)
        self.assertEqual(got.status_code, 200)
        self.assertEqual(got.content[:3], b"\xff\xd8\xff")  # a JPEG
        self.assertLess(len(got.content), os.path.getsize(os.path.join(self.dir, "photo.jpg")))

    def test_visual_and_hash_search_rank_the_near_duplicate_after_the_original(self):
        with open(os.path.join(self.dir, "photo.jpg"), "rb") as f:
            query = {"input_mode": "content", "value": base64.b64encode(f.read()).decode()}
        names = self.search(VISUAL, query)
        self.assertEqual(names[:2], ["photo.jpg", "near.jpg"], names)
        # the copy's hash may equal the original's (a tie at cosine 1)
        names = self.search(PHASH, query)
        self.assertEqual(set(names[:2]), {"photo.jpg", "near.jpg"}, names)

    def test_full_text_search_finds_the_picture_by_a_word_in_it(self):
        docs = self.documents()
        self.assertIn("Lighthouse", docs["sign.png"]["ocr_text"])
        names = self.search(BM25, "lighthouse")
        self.assertEqual(names, ["sign.png"])

    def test_corrupt_image_is_an_item_error(self):
        batch = self.c.get(f"/v1/buckets/pictures/batches/{self.batch_id}").json()
        self.assertEqual(batch["error_summary"], {"validation": 1}, batch)
        failed = self.c.get(f"/v1/buckets/pictures/batches/{self.batch_id}/failed-documents").json()
        self.assertEqual(failed["total"], 1, failed)
        err = failed["failed_documents"][0]
        self.assertEqual(err["object_id"], self.object_ids["corrupt.jpg"])
        self.assertEqual(err["error_type"], "validation")
        self.assertIn("inputs.image", err["message"])
        self.assertIn("truncated", err["message"])


if __name__ == "__main__":
    unittest.main()
