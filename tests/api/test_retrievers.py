"""Retrievers through the API: hybrid search (dense + BM25 fused with RRF) with
pre-filters, the pipeline's stages and statistics, every query mode, three
kinds of pagination, ad-hoc execution, explain, the stage registry, the
response cache (ETag, 304, a miss after a write), bad input, and the rerank
stage with a cross-encoder model."""
import base64
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import REPO, ApiTestCase, Client, StrataServer, namespace_client
from test_engine import create_objects, submit, wait_task

SCHEMA = {"properties": {"body": {"type": "string"}, "category": {"type": "string"}, "year": {"type": "integer"}}}
CORPUS = [
    ("The aircraft wing stalls when the angle of attack is too high.", "aero", 2001),
    ("Turbulent boundary layers thicken along the wing surface.", "aero", 2003),
    ("Supersonic flow produces shock waves ahead of the nose.", "aero", 2005),
    ("The heat exchanger cools the engine oil with ambient air.", "thermal", 2002),
    ("Radiative heat transfer dominates at very high temperatures.", "thermal", 2004),
    ("Bread rises because yeast ferments the sugars in dough.", "cooking", 2001),
    ("Slow roasting vegetables caramelises their natural sugars.", "cooking", 2006),
    ("A sourdough starter keeps wild yeast alive for years.", "cooking", 2007),
    ("Chess openings control the centre of the board early.", "games", 2003),
    ("Go players surround territory with stones on a grid.", "games", 2008),
    ("Helicopter rotor blades experience retreating blade stall.", "aero", 2009),
    ("Convection currents carry heat upward through the fluid.", "thermal", 2010),
]
DENSE = "mixpeek://text_extractor@v1/glove_100d"
BM25 = "mixpeek://text_extractor@v1/bm25"


def hybrid_stages(pre_filters=None, final_top_k=10):
    cfg = {"stage_id": "feature_search",
           "parameters": {"searches": [{"feature_uri": DENSE, "query": "{{INPUT.query}}", "top_k": 50},
                                       {"feature_uri": BM25, "query": "{{INPUT.query}}", "top_k": 50}],
                          "fusion": "rrf", "final_top_k": final_top_k}}
    if pre_filters:
        cfg["pre_filters"] = pre_filters
    return [{"stage_name": "search", "config": cfg},
            {"stage_name": "by_score", "config": {"stage_id": "sort_relevance", "parameters": {}}}]


def rerank_stage(inference_name, **params):
    p = {"inference_name": inference_name, "query": "{{INPUT.query}}", "document_field": "chunk_text"}
    p.update(params)
    return {"stage_name": "rank", "config": {"stage_id": "rerank", "parameters": p}}


class RetrieverTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.c = namespace_client(cls.server.base, "search", cls.conformance)
        assert c.post("/v1/buckets", {"bucket_name": "notes", "bucket_schema": SCHEMA}).status_code == 200
        r = c.post("/v1/collections", {
            "collection_name": "sentences", "source": {"type": "bucket", "bucket_ids": ["notes"]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "body"}, "field_passthrough": ["category", "year"],
                                  "parameters": {"split_by": "none"}}})
        assert r.status_code == 200, r.text
        cls.collection_id = r.json()["collection_id"]
        ids = create_objects(c, "notes", [{"body": b, "category": cat, "year": y} for b, cat, y in CORPUS])
        _, task = submit(c, "notes", ids)
        assert wait_task(c, task)["status"] == "COMPLETED"
        r = c.post("/v1/retrievers", {
            "retriever_name": "hybrid", "collection_identifiers": ["sentences"],
            "input_schema": {"query": {"type": "string", "required": True},
                             "category": {"type": "string", "default": "aero"}},
            "stages": hybrid_stages({"field": "category", "operator": "eq", "value": "{{INPUT.category}}"})})
        assert r.status_code == 200, r.text
        cls.retriever = r.json()["retriever"]

    def execute(self, body, retriever="hybrid", **kw):
        return self.c.post(f"/v1/retrievers/{retriever}/execute", body, **kw)

    def test_hybrid_search_with_pre_filter_ranks_and_explains_itself(self):
        r = self.execute({"inputs": {"query": "wing stall", "category": "aero"}})
        self.assertEqual(r.status_code, 200, r.text)
        out = r.json()
        docs = out["documents"]
        self.assertTrue(docs)
        self.assertTrue(all(d["category"] == "aero" for d in docs))  # the pre-filter holds
        self.assertIn("stall", docs[0]["chunk_text"])                 # both searches agree on the top
        scores = [d["score"] for d in docs]
        self.assertEqual(scores, sorted(scores, reverse=True))
        stats = out["stage_statistics"]["stages"]
        self.assertEqual(stats["search"]["input_count"], 0)
        self.assertEqual(stats["search"]["output_count"], len(docs))
        self.assertEqual(stats["search"]["metadata"]["pre_filter_matches"], 4)
        self.assertIn("duration_ms", stats["by_score"])
        self.assertIn("cache_hit", stats["search"])
        self.assertEqual(out["pagination"]["total"], 4)
        # The default input applies when the request leaves it out.
        r2 = self.execute({"inputs": {"query": "sugar yeast"}})
        self.assertTrue(all(d["category"] == "aero" for d in r2.json()["documents"]))

    def test_query_modes_text_vector_document_and_content(self):
        stages = [{"stage_name": "s", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": DENSE, "query": "{{INPUT.q}}", "top_k": 5}], "final_top_k": 5}}}]
        base = {"collection_identifiers": ["sentences"], "input_schema": {"q": {"type": "object"}}, "stages": stages}

        def run(q):
            r = self.c.post("/v1/retrievers/execute", dict(base, inputs={"q": q}))
            self.assertEqual(r.status_code, 200, r.text)
            return r.json()["documents"]

        by_text = run({"input_mode": "text", "value": "sourdough yeast bread"})
        self.assertEqual(by_text[0]["category"], "cooking")
        top = by_text[0]["document_id"]
        vec = self.c.get(f"/v1/collections/sentences/documents/{top}", params={"return_vectors": "true"}).json()
        by_vector = run({"input_mode": "vector", "value": vec["text_extractor_v1_embedding"]})
        self.assertEqual(by_vector[0]["document_id"], top)
        self.assertAlmostEqual(by_vector[0]["score"], 1.0, places=3)
        by_doc = run({"input_mode": "document", "document_ref": {"collection_id": self.collection_id, "document_id": top}})
        self.assertEqual(by_doc[0]["document_id"], top)
        content = base64.b64encode(b"sourdough yeast bread").decode()
        by_content = run({"input_mode": "content", "value": content})
        self.assertEqual([d["document_id"] for d in by_content], [d["document_id"] for d in by_text])

    def test_cursor_offset_and_keyset_pages_cover_the_answer_once(self):
        stages = hybrid_stages(final_top_k=12)
        base = {"collection_identifiers": ["sentences"], "input_schema": {"query": {"type": "string"}},
                "stages": stages, "inputs": {"query": "heat wing yeast board"}}
        full = self.c.post("/v1/retrievers/execute", dict(base, pagination={"method": "offset", "page_size": 100})).json()
        everything = [d["document_id"] for d in full["documents"]]
        self.assertGreater(len(everything), 5)
        for method in ("cursor", "offset", "keyset"):
            seen, page, cursor, after = [], 1, None, None
            while True:
                pg = {"method": method}
                if method == "offset":
                    pg.update(page_size=3, page_number=page)
                else:
                    pg["limit"] = 3
                    if cursor:
                        pg["cursor"] = cursor
                    if after:
                        pg["after"] = after
                out = self.c.post("/v1/retrievers/execute", dict(base, pagination=pg)).json()
                seen += [d["document_id"] for d in out["documents"]]
                p = out["pagination"]
                if not p["has_more"]:
                    break
                page, cursor, after = page + 1, p.get("next_cursor"), p.get("next_after")
            self.assertEqual(seen, everything, method)
        bad = self.c.post("/v1/retrievers/execute", dict(base, pagination={"method": "cursor", "cursor": "nope!"}))
        self.assertError(bad, 422)

    def test_second_execution_is_a_cache_hit_until_a_document_is_written(self):
        body = {"inputs": {"query": "shock waves", "category": "aero"}}
        first = self.execute(body)
        self.assertEqual(first.headers["X-Cache"], "MISS")
        etag = first.headers["ETag"]
        second = self.execute(body)
        self.assertEqual(second.headers["X-Cache"], "HIT")
        self.assertEqual(second.headers["ETag"], etag)
        self.assertEqual(second.json()["documents"], first.json()["documents"])
        not_modified = self.execute(body, headers={"If-None-Match": etag})
        self.assertEqual(not_modified.status_code, 304)
        self.assertEqual(not_modified.content, b"")
        # One more document in the collection: the signature moves, the cache misses.
        signature = self.c.get("/v1/collections/sentences").json()["index_signature"]
        r = self.c.post("/v1/collections/sentences/documents",
                        {"category": "aero", "chunk_text": "Shock waves again."})
        self.assertEqual(r.status_code, 200, r.text)
        third = self.execute(body)
        self.assertEqual(third.headers["X-Cache"], "MISS")
        self.assertNotEqual(third.headers["ETag"], etag)
        self.assertNotEqual(self.c.get("/v1/collections/sentences").json()["index_signature"], signature)
        self.c.delete(f"/v1/collections/sentences/documents/{r.json()['document_id']}")

    def test_crud_explain_executions_and_stage_registry(self):
        r = self.c.get("/v1/retrievers/hybrid")
        self.assertEqual(r.json()["retriever_id"], self.retriever["retriever_id"])
        deps = r.json()["feature_dependencies"]
        self.assertEqual(sorted(f"mixpeek://{d['extractor']}@{d['version']}/{d['output']}" for d in deps),
                         sorted([BM25, DENSE]))
        self.assertEqual(r.json()["stages"][0]["stage_type"], "filter")
        listed = self.c.post("/v1/retrievers/list", {}).json()
        self.assertIn("hybrid", [x["retriever_name"] for x in listed["results"]])
        patched = self.c.patch("/v1/retrievers/hybrid", {"description": "dense + bm25"}).json()["retriever"]
        self.assertEqual(patched["version"], self.retriever["version"] + 1)
        clone = self.c.post("/v1/retrievers/hybrid/clone", {"retriever_name": "hybrid_copy"})
        self.assertEqual(clone.status_code, 201, clone.text)
        self.assertError(self.c.post("/v1/retrievers/hybrid/clone", {"retriever_name": "hybrid_copy"}), 409)
        self.assertEqual(self.c.delete("/v1/retrievers/hybrid_copy").status_code, 200)
        self.assertError(self.c.get("/v1/retrievers/hybrid_copy"), 404)
        plan = self.c.post("/v1/retrievers/hybrid/execute/explain", {"inputs": {"query": "x"}}).json()
        self.assertEqual([s["stage_name"] for s in plan["execution_plan"]], ["search", "by_score"])
        self.assertEqual(plan["execution_plan"][0]["estimated_output"], 10)
        self.execute({"inputs": {"query": "radiative heat"}})
        execs = self.c.post("/v1/retrievers/hybrid/executions/list", {}).json()
        self.assertGreater(execs["pagination"]["total"], 0)
        one = self.c.get(f"/v1/retrievers/hybrid/executions/{execs['results'][0]['execution_id']}")
        self.assertEqual(one.status_code, 200, one.text)
        stages = self.c.get("/v1/retrievers/stages").json()
        ids = {s["stage_id"]: s for s in stages}
        for needed in ("feature_search", "attribute_filter", "sort_relevance", "sort_attribute", "limit", "group_by",
                       "deduplicate", "score_normalize", "mmr", "sample", "unwind", "json_transform", "aggregate",
                       "document_enrich", "rerank"):
            self.assertIn(needed, ids)
        self.assertEqual(ids["feature_search"]["parameter_schema"]["properties"]["final_top_k"]["default"], 25)
        self.assertTrue(all(s["category"] == "sort" for s in self.c.get("/v1/retrievers/stages",
                                                                         params={"category": "sort"}).json()))

    def test_pipeline_of_many_stages(self):
        stages = hybrid_stages(final_top_k=12) + [
            {"stage_name": "recent", "config": {"stage_id": "attribute_filter",
                                                "parameters": {"field": "year", "operator": "gte", "value": 2003}}},
            {"stage_name": "norm", "config": {"stage_id": "score_normalize", "parameters": {"method": "min_max"}}},
            {"stage_name": "one_per_category", "config": {"stage_id": "group_by", "parameters": {
                "group_by_field": "category", "output_mode": "first"}}},
            {"stage_name": "by_year", "config": {"stage_id": "sort_attribute",
                                                 "parameters": {"field": "year", "direction": "asc"}}},
            {"stage_name": "shape", "config": {"stage_id": "json_transform", "parameters": {
                "template": {"what": "{{DOC.category | upper}}", "year": "{{DOC.year}}",
                             "old": "{{DOC.year < 2005}}"}}}},
            {"stage_name": "top", "config": {"stage_id": "limit", "parameters": {"limit": 3}}}]
        r = self.c.post("/v1/retrievers/execute", {"collection_identifiers": ["sentences"],
                                                   "input_schema": {"query": {"type": "string"}}, "stages": stages,
                                                   "inputs": {"query": "heat wing yeast board stones"}})
        self.assertEqual(r.status_code, 200, r.text)
        docs = r.json()["documents"]
        self.assertEqual(len(docs), 3)
        years = [d["year"] for d in docs]
        self.assertEqual(years, sorted(years))
        self.assertTrue(all(y >= 2003 for y in years))
        self.assertEqual(len({d["what"] for d in docs}), 3)
        self.assertTrue(all(d["what"].isupper() and isinstance(d["old"], bool) for d in docs))

    def test_bad_input_names_what_is_wrong(self):
        def adhoc(stages, inputs=None, schema=None):
            return self.c.post("/v1/retrievers/execute", {"collection_identifiers": ["sentences"],
                                                          "input_schema": schema or {"query": {"type": "string"}},
                                                          "stages": stages,
                                                          "inputs": {"query": "wing"} if inputs is None else inputs})

        def search(**params):
            p = {"searches": [{"feature_uri": DENSE, "query": "{{INPUT.query}}"}]}
            p.update(params)
            return [{"stage_name": "s", "config": {"stage_id": "feature_search", "parameters": p}}]

        cases = [
            (adhoc([{"stage_name": "x", "config": {"stage_id": "teleport"}}]), "stages[0].config.stage_id"),
            (adhoc(search(final_top_k="many")), "final_top_k"),
            (adhoc(search(searches=[{"feature_uri": DENSE, "query": "{{INPUT.query | nosuchfilter}}"}])), "nosuchfilter"),
            (adhoc(search(searches=[{"feature_uri": "mixpeek://nope@v1/x", "query": "a"}])), "mixpeek://nope@v1/x"),
            (adhoc(search(searches=[{"feature_uri": DENSE, "query": {"input_mode": "vector", "value": [0.1, 0.2]}}])),
             "dimensions"),
            (adhoc([{"stage_name": "s", "config": {"stage_id": "feature_search", "pre_filters": {"colour": "red"},
                                                   "parameters": {"searches": [{"feature_uri": BM25, "query": "wing"}]}}}]),
             "colour"),
            (adhoc(search(), inputs={}, schema={"query": {"type": "string", "required": True}}), "inputs.query"),
            # This server has no cross-encoder: a model name is refused, naming it.
            (adhoc(search() + [rerank_stage("no-such-reranker")]), "unknown cross-encoder 'no-such-reranker'"),
            (adhoc(search() + [rerank_stage("glove-100d")]), "'glove-100d' is the built-in embedding model"),
            (adhoc(search() + [rerank_stage("no-such-reranker")]), "stages[1].parameters.inference_name"),
        ]
        for r, needle in cases:
            with self.subTest(needle=needle):
                self.assertError(r, 422)
                self.assertIn(needle, r.text)
        # An empty collection is named as such.
        self.c.post("/v1/buckets", {"bucket_name": "empty", "bucket_schema": SCHEMA})
        self.c.post("/v1/collections", {"collection_name": "nothing", "source": {"type": "bucket", "bucket_ids": ["empty"]},
                                        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                                              "input_mappings": {"text": "body"}}})
        r = self.c.post("/v1/retrievers/execute", {"collection_identifiers": ["nothing"], "input_schema": {},
                                                   "stages": search(), "inputs": {"query": "x"}})
        self.assertError(r, 422)
        self.assertIn("no documents", r.text)
        # A retriever over a feature its collections lack is refused at creation.
        r = self.c.post("/v1/retrievers", {"retriever_name": "broken", "collection_identifiers": ["sentences"],
                                           "stages": search(searches=[{"feature_uri": "mixpeek://x@v1/y", "query": "a"}])})
        self.assertError(r, 422)
        self.assertError(self.c.post("/v1/retrievers/nope/execute", {"inputs": {}}), 404)

    def test_evaluation_reports_the_metrics_of_the_retrievers_own_ranking(self):
        docs = self.c.post("/v1/collections/sentences/documents/list", {}, params={"limit": 100}).json()["results"]
        by_text = {d["chunk_text"]: d["document_id"] for d in docs}
        queries = [
            {"query_id": "stall", "query_input": {"query": "wing stall"},
             "relevant_documents": [by_text[CORPUS[0][0]], by_text[CORPUS[10][0]]],
             "relevance_scores": {by_text[CORPUS[0][0]]: 2}},
            {"query_id": "heat", "query_input": {"query": "heat transfer", "category": "thermal"},
             "relevant_documents": [by_text[CORPUS[4][0]], by_text[CORPUS[11][0]], by_text[CORPUS[3][0]]]},
        ]
        r = self.c.post("/v1/retrievers/evaluations/datasets", {"dataset_name": "physics", "queries": queries})
        self.assertEqual(r.status_code, 201, r.text)
        self.assertEqual(r.json()["query_count"], 2)
        started = self.c.post("/v1/retrievers/hybrid/evaluations", {"dataset_name": "physics"})
        self.assertEqual(started.status_code, 202, started.text)
        self.assertEqual(wait_task(self.c, started.json()["task_id"])["status"], "COMPLETED")
        ev = self.c.get(f"/v1/retrievers/hybrid/evaluations/{started.json()['evaluation_id']}").json()
        self.assertEqual(ev["status"], "completed", ev)
        self.assertEqual(sorted(ev["metrics_by_k"]), ["1", "10", "20", "5"])

        # The same metrics computed here from the retriever's own answers.
        import math
        ranked = {q["query_id"]: [d["document_id"] for d in self.execute(
            {"inputs": q["query_input"], "pagination": {"method": "offset", "page_size": 20}}).json()["documents"]]
            for q in queries}
        for k in (1, 5, 10, 20):
            got = ev["metrics_by_k"][str(k)]
            expect = {"ndcg": 0, "mrr": 0, "recall": 0, "precision": 0}
            for q in queries:
                grades = {d: 1 for d in q["relevant_documents"]}
                grades.update(q.get("relevance_scores", {}))
                top = ranked[q["query_id"]][:k]
                dcg = sum(grades.get(d, 0) / math.log2(i + 2) for i, d in enumerate(top))
                ideal = sorted(grades.values(), reverse=True)[:k]
                idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
                hits = [i for i, d in enumerate(top) if d in grades]
                expect["ndcg"] += dcg / idcg / len(queries)
                expect["mrr"] += (1 / (hits[0] + 1) if hits else 0) / len(queries)
                expect["recall"] += len(hits) / len(grades) / len(queries)
                expect["precision"] += len(hits) / k / len(queries)
            for metric, value in expect.items():
                self.assertAlmostEqual(got[metric], value, places=6, msg=f"{metric}@{k}")
        self.assertGreater(ev["metrics_by_k"]["10"]["recall"], 0)
        listed = self.c.get("/v1/retrievers/hybrid/evaluations", params={"status": "completed"}).json()
        self.assertIn(ev["evaluation_id"], [e["evaluation_id"] for e in listed["evaluations"]])
        self.assertEqual(self.c.get("/v1/retrievers/hybrid/evaluations", params={"status": "failed"}).json()["total"], 0)
        # A dataset the retriever's inputs do not fit is refused up front or fails the run with a reason.
        bad = self.c.post("/v1/retrievers/evaluations/datasets", {"dataset_name": "broken", "queries": [
            {"query_id": "x", "relevant_documents": []}]})
        self.assertError(bad, 422)
        self.assertIn("query_input", bad.text)
        self.assertError(self.c.post("/v1/retrievers/hybrid/evaluations", {"dataset_name": "nope"}), 404)

    def test_tenants_do_not_see_each_others_retrievers(self):
        other = namespace_client(self.server.base, "elsewhere", self.conformance)
        self.assertError(other.get("/v1/retrievers/hybrid"), 404)
        self.assertError(other.post("/v1/retrievers/hybrid/execute", {"inputs": {"query": "wing"}}), 404)


class CrossEncoderRerankTest(ApiTestCase):
    """rerank with a cross-encoder of the server's models directory: the tiny
    model tests/models/make_cross_encoder_onnx.py writes scores a (query,
    document) pair as the sum of per-token weights over the document (solar 4,
    panel 2, ##s 1, sun 8, power 16, wind 0.25, the closing [SEP] 0.5)."""

    DOCS = [("Solar panels on the roof.", 7.5), ("Sun power for the home.", 24.5),
            ("The cat and the dog.", 0.5), ("Wind turbines and solar panels.", 8.75)]

    @classmethod
    def setUpClass(cls):
        ort = os.path.join(REPO, ".cache", "onnxruntime", "lib", "libonnxruntime.so.1")
        if not os.path.exists(ort):
            raise unittest.SkipTest(f"ONNX Runtime is not at {ort}; run scripts/fetch_onnxruntime.sh")
        cls.models = tempfile.mkdtemp(prefix="strata-rerank-models-")
        for f in ("glove-100d.bin", "lid.176.ftz"):
            if os.path.exists(os.path.join(REPO, ".cache", "models", f)):
                os.symlink(os.path.join(REPO, ".cache", "models", f), os.path.join(cls.models, f))
        # Debian's interpreter has python3-onnx (as the C++ tests use it).
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"
        subprocess.run([python, os.path.join(REPO, "tests", "models", "make_cross_encoder_onnx.py"),
                        "--out", os.path.join(cls.models, "tiny-reranker")], check=True)
        cls.server = StrataServer(extra_args=["--models-dir", cls.models, "--onnxruntime-lib", ort]).start()
        cls.admin = Client(cls.server.base, conformance=cls.conformance)
        c = cls.c = namespace_client(cls.server.base, "reranking", cls.conformance)
        assert c.post("/v1/buckets", {"bucket_name": "notes", "bucket_schema": SCHEMA}).status_code == 200
        r = c.post("/v1/collections", {
            "collection_name": "energy", "source": {"type": "bucket", "bucket_ids": ["notes"]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "body"}, "parameters": {"split_by": "none"}}})
        assert r.status_code == 200, r.text
        ids = create_objects(c, "notes", [{"body": text} for text, _ in cls.DOCS])
        _, task = submit(c, "notes", ids)
        assert wait_task(c, task)["status"] == "COMPLETED"

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(getattr(cls, "models", ""), ignore_errors=True)

    def run_rerank(self, stage, query="solar panels"):
        search = {"stage_name": "search", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": DENSE, "query": "{{INPUT.query}}", "top_k": 10}], "final_top_k": 10}}}
        return self.c.post("/v1/retrievers/execute", {"collection_identifiers": ["energy"],
                                                      "input_schema": {"query": {"type": "string"}},
                                                      "stages": [search, stage], "inputs": {"query": query}})

    def test_cross_encoder_scores_and_orders_the_documents(self):
        r = self.run_rerank(rerank_stage("tiny-reranker"))
        self.assertEqual(r.status_code, 200, r.text)
        got = [(d["chunk_text"], d["score"]) for d in r.json()["documents"]]
        self.assertEqual(got, sorted(self.DOCS, key=lambda d: -d[1]))
        # The query is not scored (its segment is 0); score_field and top_k apply.
        r = self.run_rerank(rerank_stage("tiny-reranker", score_field="relevance", top_k=2, batch_size=1),
                            query="sun power wind")
        self.assertEqual(r.status_code, 200, r.text)
        docs = r.json()["documents"]
        self.assertEqual([(d["chunk_text"], d["relevance"]) for d in docs],
                         sorted(self.DOCS, key=lambda d: -d[1])[:2])

    def test_lexical_rerank_is_still_there_and_unknown_models_are_named(self):
        r = self.run_rerank(rerank_stage("bm25"), query="cat")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["documents"][0]["chunk_text"], "The cat and the dog.")
        r = self.run_rerank(rerank_stage("no-such-reranker"))
        self.assertError(r, 422)
        self.assertIn("unknown cross-encoder 'no-such-reranker'", r.text)
        self.assertIn("cross-encoders available: tiny-reranker", r.text)


if __name__ == "__main__":
    unittest.main()
