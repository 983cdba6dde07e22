"""The default text model, USE-lite: a namespace that names no model gets it
(and keeps it: the registration records it), its collections have 512-d
vectors, and a dense search finds paraphrases that share no word with the
query."""
import unittest

from harness import ApiTestCase, Client
from test_engine import create_objects, submit, wait_task

SENTENCES = {
    "puppy": "A puppy is playing in the park.",
    "stocks": "Stock markets fell sharply today.",
    "recipe": "Whisk the eggs with sugar until pale.",
    "train": "The night train to Vienna was delayed by snow.",
}
DENSE = "mixpeek://text_extractor@v1/use_lite"


class SemanticSearchTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.c = Client(cls.server.base, conformance=cls.conformance)
        r = cls.c.post("/v1/namespaces", {"namespace_name": "semantic", "feature_extractors": [
            {"feature_extractor_name": "text_extractor", "version": "v1"}]})
        assert r.status_code == 200, r.text
        cls.namespace = r.json()
        cls.c.namespace = "semantic"
        assert cls.c.post("/v1/buckets", {"bucket_name": "notes", "bucket_schema": {
            "properties": {"body": {"type": "string"}, "key": {"type": "string"}}}}).status_code == 200
        r = cls.c.post("/v1/collections", {
            "collection_name": "notes_text", "source": {"type": "bucket", "bucket_ids": ["notes"]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "body"}, "field_passthrough": ["key"]}})
        assert r.status_code == 200, r.text
        cls.collection = r.json()
        long_text = " ".join(["word"] * 400)
        ids = create_objects(cls.c, "notes", [{"metadata": {"body": t, "key": k}} for k, t in SENTENCES.items()]
                             + [{"metadata": {"body": long_text, "key": "long"}}])
        _, task = submit(cls.c, "notes", ids)
        assert wait_task(cls.c, task)["status"] == "COMPLETED"

    def search(self, query):
        r = self.c.post("/v1/retrievers/execute", {
            "collection_identifiers": ["notes_text"], "inputs": {"q": query},
            "stages": [{"stage_name": "s", "config": {"stage_id": "feature_search", "parameters": {
                "searches": [{"feature_uri": DENSE, "query": "{{INPUT.q}}", "top_k": 5}], "final_top_k": 5}}}]})
        self.assertEqual(r.status_code, 200, r.text)
        return [d["key"] for d in r.json()["documents"]]

    def test_registration_records_the_default_model(self):
        fe = self.namespace["feature_extractors"][0]
        self.assertEqual(fe["params"]["embedding_model"], "use-lite")
        index = {v["feature_uri"]: v for v in self.collection["vector_indexes"]}[DENSE]["index"]
        self.assertEqual(index["dimensions"], 512)
        self.assertEqual(index["inference_name"], "use-lite")

    def test_paraphrases_without_shared_words_rank_first(self):
        self.assertEqual(self.search("The dog runs on the grass.")[0], "puppy")
        self.assertEqual(self.search("equities dropped")[0], "stocks")
        self.assertEqual(self.search("how to bake a cake")[0], "recipe")
        self.assertEqual(self.search("railway journey in winter")[0], "train")

    def test_truncated_text_says_so(self):
        r = self.c.post("/v1/collections/notes_text/documents/list", {"filters": {"key": "long"}})
        docs = r.json()["results"]
        self.assertEqual(len(docs), 1)
        self.assertIs(docs[0]["embedding_truncated"], True)
        r = self.c.post("/v1/collections/notes_text/documents/list", {"filters": {"key": "puppy"}})
        self.assertNotIn("embedding_truncated", r.json()["results"][0])


if __name__ == "__main__":
    unittest.main()
