"""document_graph_extractor@v1 through the API: a bucket with a pdf blob
field, a collection over it, one document per layout block with page_number,
bbox and text, the page image in document_blobs, full-text search finding a
page-2 block, and a broken PDF ending as an item error of its batch. The PDFs
are made at test time by tests/media/make_pdf_fixtures.py (reportlab)."""
import base64
import os
import subprocess
import sys
import unittest

from harness import REPO, ApiTestCase, Client
from test_engine import create_objects, submit, wait_task

FIXTURES = os.path.join(REPO, "tests", "media", "make_pdf_fixtures.py")
BM25 = "mixpeek://document_graph_extractor@v1/bm25"


def python_with_reportlab():
    for exe in (sys.executable, "/usr/bin/python3", "python3"):
        if exe and subprocess.run([exe, "-c", "import reportlab, PIL"], capture_output=True).returncode == 0:
            return exe
    return None


def pdf_blob(path):
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode()
    return {"property": "file", "type": "pdf",
            "data": {"base64": data, "mime_type": "application/pdf", "filename": os.path.basename(path)}}


class PdfExtractorTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        exe = python_with_reportlab()
        if exe is None:
            raise unittest.SkipTest("the PDF fixtures need python3 with reportlab and PIL")
        super().setUpClass()
        cls.make_temp_dir("strata-pdf-")
        subprocess.run([exe, FIXTURES, cls.dir], check=True)
        c = cls.c = Client(cls.server.base, conformance=cls.conformance)
        r = c.post("/v1/namespaces", {"namespace_name": "pdfs", "feature_extractors": [
            {"feature_extractor_name": "document_graph_extractor", "version": "v1"}]})
        assert r.status_code == 200, r.text
        c.namespace = "pdfs"
        r = c.post("/v1/buckets", {"bucket_name": "papers", "bucket_schema": {
            "properties": {"file": {"type": "pdf"}, "title": {"type": "string"}}}})
        assert r.status_code == 200, r.text
        r = c.post("/v1/collections", {
            "collection_name": "blocks", "source": {"type": "bucket", "bucket_ids": ["papers"]},
            "feature_extractor": {"feature_extractor_name": "document_graph_extractor", "version": "v1",
                                  "input_mappings": {"pdf": "file"}, "field_passthrough": ["title"]}})
        assert r.status_code == 200, r.text
        cls.collection = r.json()
        ids = create_objects(c, "papers", [
            {"title": "report", "blobs": [pdf_blob(os.path.join(cls.dir, "report.pdf"))]},
            {"title": "broken", "blobs": [pdf_blob(os.path.join(cls.dir, "encrypted.pdf"))]}])
        cls.report_id, cls.broken_id = ids
        cls.batch_id, task = submit(c, "papers", ids)
        cls.task = wait_task(c, task)


    def documents(self):
        r = self.c.post("/v1/collections/blocks/documents/list", {"sort": None},
                        params={"limit": 100, "include_total": "true"})
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()["results"]

    def test_collection_describes_the_outputs(self):
        props = self.collection["output_schema"]["properties"]
        for f in ("text", "object_type", "bbox", "page_number", "block_index", "confidence_score",
                  "confidence_tag", "title"):
            self.assertIn(f, props)
        uris = [v["feature_uri"] for v in self.collection["vector_indexes"]]
        self.assertIn(BM25, uris)
        dense = [v for v in self.collection["vector_indexes"] if v["index"]["type"] == "dense"]
        self.assertEqual(len(dense), 1)  # the block text embedding, of the default text model
        self.assertEqual(dense[0]["name"], "document_graph_extractor_v1_embedding")

    def test_blocks_come_out_with_page_box_text_and_page_image(self):
        self.assertEqual(self.task["status"], "COMPLETED_WITH_ERRORS", self.task)
        docs = self.documents()
        self.assertEqual(len(docs), 10, [d.get("text") for d in docs])
        by_pos = {(d["page_number"], d["block_index"]): d for d in docs}
        self.assertEqual(sorted(by_pos), [(1, i) for i in range(6)] + [(2, i) for i in range(4)])
        self.assertEqual(by_pos[(1, 0)]["text"], "Regional Water Quality Report")
        self.assertEqual(by_pos[(1, 0)]["object_type"], "header")
        self.assertEqual(by_pos[(1, 3)]["object_type"], "table")
        self.assertEqual(by_pos[(2, 3)]["object_type"], "footer")
        thumbs = {}
        for d in docs:
            self.assertEqual(d["title"], "report")
            x1, y1, x2, y2 = d["bbox"]
            self.assertTrue(0 <= x1 < x2 <= d["page_width"] and 0 <= y1 < y2 <= d["page_height"], d)
            self.assertIn(d["confidence_tag"], "ABCD")
            blobs = [b for b in d["document_blobs"] if b["field"] == "page_thumbnail"]
            self.assertEqual(len(blobs), 1, d["document_blobs"])
            self.assertEqual(blobs[0]["role"], "thumbnail")
            self.assertEqual(blobs[0]["content_type"], "image/jpeg")
            thumbs.setdefault(d["page_number"], set()).add(blobs[0]["checksum"])
        # one image per page, shared by its blocks
        self.assertEqual({p: len(s) for p, s in thumbs.items()}, {1: 1, 2: 1})
        self.assertNotEqual(thumbs[1], thumbs[2])

    def test_broken_pdf_is_an_item_error(self):
        batch = self.c.get(f"/v1/buckets/papers/batches/{self.batch_id}").json()
        self.assertEqual(batch["error_summary"], {"validation": 1}, batch)
        err = batch["tier_tasks"][0]["errors"][0]
        self.assertIn("inputs.pdf", err["message"])
        self.assertIn("encrypted", err["message"])
        self.assertEqual(err["component"], "document_graph_extractor_v1")
        self.assertEqual(err["affected_document_ids"], [self.broken_id])

    def test_full_text_search_finds_the_page_two_block_first(self):
        r = self.c.post("/v1/retrievers/execute", {
            "collection_identifiers": ["blocks"], "input_schema": {"q": {"type": "string"}},
            "inputs": {"q": "nephelometers turbidity"},
            "stages": [{"stage_name": "s", "config": {"stage_id": "feature_search", "parameters": {
                "searches": [{"feature_uri": BM25, "query": "{{INPUT.q}}", "top_k": 10}], "final_top_k": 5}}}]})
        self.assertEqual(r.status_code, 200, r.text)
        docs = r.json()["documents"]
        self.assertTrue(docs, r.text)
        self.assertEqual(docs[0]["page_number"], 2)
        self.assertIn("nephelometers", docs[0]["text"])


if __name__ == "__main__":
    unittest.main()
