#!/usr/bin/env python3
"""Retrieval quality of Strata on a BEIR-layout dataset, through the public HTTP API.

Usage:
    python3 bench/beir_bench.py --data ../shared/data/cranfield [--data ../shared/data/npl ...]
    python3 bench/beir_bench.py --data DIR --server http://127.0.0.1:8080 --api-key sk_...
    python3 bench/beir_bench.py --data DIR --fusion-variants      # also try other fusion settings
    make bench-beir                                               # cranfield and npl, after building

A dataset folder holds corpus.jsonl ({"_id", "title", "text"}), queries.jsonl
({"_id", "text"}) and qrels.tsv (query-id, corpus-id, score; header first).

Without --server the script starts its own `strata serve` (build/strata, or
$STRATA_BIN) on a free loopback port over a temporary data directory, and stops
it and removes the directory at the end. With --server it uses that server and
deletes the namespaces it created (unless --keep).

Per dataset: a namespace, a bucket (fields text, beir_id, title), one object per
BEIR document (text = title + " " + text, as the reference BM25 figures of
../shared/data/README.md count it), a collection with text_extractor@v1 (no
splitting: one document = one chunk), a batch through it, then four retrievers:

    bm25           feature_search over mixpeek://text_extractor@v1/bm25
    dense          feature_search over mixpeek://text_extractor@v1/<model> (--model, default use_lite)
    hybrid         both searches fused with rrf (weights 1, 1)
    hybrid_rerank  hybrid followed by the rerank stage (lexical BM25 over the candidates)

Each judged query runs once per retriever ({"inputs": {"query": text}}); chunk
hits are mapped back to BEIR ids (first occurrence wins) and scored here:
nDCG@10 (trec_eval: gain = grade, discount log2(rank + 1), ideal from the
qrels), recall@100 and MRR@10 (grade > 0 is relevant), averaged over judged
queries. --fusion-variants adds hybrids with other settings of the stage: rrf
and dbsf with BM25 weighted 1, 2 and 4 against dense 1, and rrf over 300
candidates per search (the rrf constant, 60, is not a parameter of the stage).
Queries/s is one client, sequential, end to end over HTTP (client and
server on the same machine); server ms/query is the pipeline's own total_time_ms.
The feature_search stage cache is disabled so that every execution does the work.
"""
import argparse
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DENSE = "mixpeek://text_extractor@v1/glove_100d"
BM25 = "mixpeek://text_extractor@v1/bm25"
TERMINAL = ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED")


# ---- the dataset ----------------------------------------------------------------

def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_beir(folder):
    """Returns (corpus [{_id, title, text}], queries {qid: text}, qrels {qid: {docid: grade}})."""
    corpus = read_jsonl(os.path.join(folder, "corpus.jsonl"))
    queries = {str(q["_id"]): q["text"] for q in read_jsonl(os.path.join(folder, "queries.jsonl"))}
    qrels = {}
    with open(os.path.join(folder, "qrels.tsv"), encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            qid, docid, grade = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[docid] = int(grade)
    judged = {qid: text for qid, text in queries.items() if qid in qrels}
    return corpus, judged, qrels


# ---- metrics --------------------------------------------------------------------

def ndcg_at(ranked, grades, k=10):
    dcg = sum(grades.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked, grades, k=100):
    relevant = {d for d, g in grades.items() if g > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at(ranked, grades, k=10):
    for i, d in enumerate(ranked[:k]):
        if grades.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def evaluate(rankings, qrels):
    """Mean nDCG@10, recall@100, MRR@10 over the queries ranked."""
    n = len(rankings)
    return {"ndcg@10": sum(ndcg_at(r, qrels[q]) for q, r in rankings.items()) / n,
            "recall@100": sum(recall_at(r, qrels[q]) for q, r in rankings.items()) / n,
            "mrr@10": sum(mrr_at(r, qrels[q]) for q, r in rankings.items()) / n}


# ---- the server and the API -------------------------------------------------------

class OwnServer:
    """A `strata serve` of our own on a free loopback port, over a temporary directory."""

    def __init__(self, binary):
        self.binary = binary
        self.key = "sk_beir_bench_" + secrets.token_hex(16)
        self.dir = tempfile.mkdtemp(prefix="strata-beir-")
        self.proc = None
        self.base = None

    def start(self):
        env = dict(os.environ, STRATA_ADMIN_KEY=self.key)
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--data", os.path.join(self.dir, "data"), "--port", "0", "--host", "127.0.0.1"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        lines = []
        for line in self.proc.stdout:
            lines.append(line)
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.base = m.group(1)
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        raise RuntimeError("strata did not start:\n" + "".join(lines))

    def _drain(self):
        for _ in self.proc.stdout:  # keep the pipe from filling up
            pass

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Api:
    """requests with the key and namespace headers; any non-2xx answer raises with its body."""

    def __init__(self, base, key, namespace=None):
        self.base, self.key, self.namespace = base.rstrip("/"), key, namespace
        self.session = requests.Session()

    def call(self, method, path, body=None, params=None):
        headers = {"Authorization": f"Bearer {self.key}"}
        if self.namespace:
            headers["X-Namespace"] = self.namespace
        r = self.session.request(method, self.base + path, json=body, params=params, headers=headers, timeout=600)
        if r.status_code >= 300:
            raise RuntimeError(f"{method} {path} -> {r.status_code}: {r.text[:1000]}")
        return r

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw).json()

    def get(self, path, **kw):
        return self.call("GET", path, **kw).json()


# ---- loading a dataset ---------------------------------------------------------------

def create_namespace(admin, name, model):
    admin.post("/v1/namespaces", {"namespace_name": name, "feature_extractors": [
        {"feature_extractor_name": "text_extractor", "version": "v1", "params": {"embedding_model": model}}]})
    return Api(admin.base, admin.key, name)


def wait_task(api, task_id, timeout=3600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        task = api.get(f"/v1/tasks/{task_id}")
        if task["status"] in TERMINAL:
            return task
        time.sleep(0.2)
    raise RuntimeError(f"task {task_id} did not finish in {timeout} s")


def ingest(api, corpus, chunking):
    """Bucket, objects, collection, batch; returns (collection name, documents stored, seconds)."""
    started = time.time()
    api.post("/v1/buckets", {"bucket_name": "corpus", "bucket_schema": {"properties": {
        "text": {"type": "string"}, "beir_id": {"type": "string"}, "title": {"type": "string"}}}})
    objects = [{"beir_id": str(d["_id"]), "title": d.get("title") or "",
                "text": f"{d.get('title') or ''} {d.get('text') or ''}".strip()} for d in corpus]
    ids = []
    for i in range(0, len(objects), 1000):
        out = api.post("/v1/buckets/corpus/objects/batch", {"objects": objects[i:i + 1000]})
        if out.get("failed_count"):
            raise RuntimeError(f"objects refused: {json.dumps(out['failed'][:3])}")
        ids += [o["object_id"] for o in out["succeeded"]]
    api.post("/v1/collections", {
        "collection_name": "chunks", "source": {"type": "bucket", "bucket_ids": ["corpus"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "text"}, "field_passthrough": ["beir_id"],
                              "parameters": dict(chunking, detect_language=False)}})
    batch = api.post("/v1/buckets/corpus/batches", {"object_ids": ids})
    task = api.post(f"/v1/buckets/corpus/batches/{batch['batch_id']}/submit", {})
    done = wait_task(api, task["task_id"])
    if done["status"] not in ("COMPLETED", "COMPLETED_WITH_ERRORS"):
        raise RuntimeError(f"batch ended {done['status']}: {json.dumps(done)[:1000]}")
    if done["status"] != "COMPLETED":
        failed = api.get(f"/v1/buckets/corpus/batches/{batch['batch_id']}/failed-documents")
        first = (failed.get("failed_documents") or [{}])[0].get("message")
        print(f"  batch {done['status']}: {failed.get('error_summary')}, e.g. {first!r}", file=sys.stderr)
    stored = api.post("/v1/collections/chunks/documents/list", {}, params={"limit": 1, "include_total": "true"})
    uris = {f["feature_address"] for f in api.get("/v1/collections/chunks/features")["features"]}
    missing = {DENSE, BM25} - uris
    if missing:
        raise RuntimeError(f"collection lacks features {missing} (has {uris})")
    return "chunks", stored["pagination"]["total"], time.time() - started


# ---- retrievers ------------------------------------------------------------------------

def search_stage(searches, fusion, final_top_k):
    return {"stage_name": "search", "config": {
        "stage_id": "feature_search", "cache_behavior": "disabled",  # each execution does the work
        "parameters": {"searches": searches, "fusion": fusion, "final_top_k": final_top_k}}}


def one_search(uri, top_k, weight=1.0):
    return {"feature_uri": uri, "query": "{{INPUT.query}}", "top_k": top_k, "weight": weight}


def rerank_stage():
    # The whole document is the candidate text (default max_document_chars 2000 would cut
    # the longest Cranfield abstracts).
    return {"stage_name": "rerank", "config": {"stage_id": "rerank", "parameters": {
        "document_field": "chunk_text", "max_document_chars": 10000}}}


def hybrid(top_k, fusion="rrf", w_bm25=1.0, w_dense=1.0, rerank=False, pool=None):
    """Dense + BM25 fused; `pool` candidates per search (default top_k), top_k results."""
    pool = pool or top_k
    stages = [search_stage([one_search(DENSE, pool, w_dense), one_search(BM25, pool, w_bm25)], fusion, top_k)]
    return stages + [rerank_stage()] if rerank else stages


def retrievers(top_k, variants):
    """{name: stages}: the four of the benchmark, then (with variants) other fusion settings."""
    out = {"bm25": [search_stage([one_search(BM25, top_k)], "rrf", top_k)],
           "dense": [search_stage([one_search(DENSE, top_k)], "rrf", top_k)],
           "hybrid": hybrid(top_k),
           "hybrid_rerank": hybrid(top_k, rerank=True)}
    if variants:
        out.update({"hybrid_rrf_bm25x2": hybrid(top_k, w_bm25=2.0),
                    "hybrid_rrf_bm25x4": hybrid(top_k, w_bm25=4.0),
                    "hybrid_dbsf": hybrid(top_k, fusion="dbsf"),
                    "hybrid_dbsf_bm25x2": hybrid(top_k, fusion="dbsf", w_bm25=2.0),
                    "hybrid_dbsf_bm25x4": hybrid(top_k, fusion="dbsf", w_bm25=4.0),
                    "hybrid_rrf_pool300": hybrid(top_k, pool=3 * top_k)})
    return out


def create_retriever(api, collection, name, stages):
    api.post("/v1/retrievers", {"retriever_name": name, "collection_identifiers": [collection],
                                "input_schema": {"query": {"type": "string", "required": True}},
                                "stages": stages})


def run_queries(api, name, queries, page_size):
    """Executes every query; returns ({qid: [beir ids]}, seconds, server ms in total, cache hits)."""
    body = lambda text: {"inputs": {"query": text}, "pagination": {"method": "offset", "page_size": page_size}}
    api.call("POST", f"/v1/retrievers/{name}/execute", body("warm up the models"))
    rankings, hits, server_ms = {}, 0, 0.0
    started = time.perf_counter()
    for qid, text in queries.items():
        r = api.call("POST", f"/v1/retrievers/{name}/execute", body(text))
        hits += r.headers.get("X-Cache") == "HIT"
        out = r.json()
        rankings[qid] = beir_ranking(out["documents"])
        server_ms += out["stage_statistics"]["total_time_ms"]
    return rankings, time.perf_counter() - started, server_ms, hits


def beir_ranking(documents):
    """Chunk hits -> BEIR ids, first occurrence wins."""
    seen, out = set(), []
    for d in documents:
        bid = d.get("beir_id")
        if bid is not None and bid not in seen:
            seen.add(bid)
            out.append(bid)
    return out


# ---- one dataset, the report ------------------------------------------------------------

def bench_dataset(admin, folder, args):
    name = os.path.basename(os.path.normpath(folder))
    corpus, queries, qrels = load_beir(folder)
    print(f"{name}: {len(corpus)} documents, {len(queries)} judged queries", file=sys.stderr)
    ns = f"beir_{re.sub(r'[^a-z0-9]', '_', name.lower())}_{secrets.token_hex(3)}"
    api = create_namespace(admin, ns, args.model)
    try:
        chunking = {"split_by": args.split_by, "chunk_size": args.chunk_size}
        collection, stored, ingest_secs = ingest(api, corpus, chunking)
        print(f"  ingested: {stored} chunks in {ingest_secs:.1f} s", file=sys.stderr)
        rows = []
        for rname, stages in retrievers(args.top_k, args.fusion_variants).items():
            create_retriever(api, collection, rname, stages)
            rankings, secs, server_ms, hits = run_queries(api, rname, queries, args.top_k)
            m = evaluate(rankings, qrels)
            rows.append(dict(m, dataset=name, retriever=rname, qps=len(queries) / secs,
                             server_ms=server_ms / len(queries), cache_hits=hits))
            print(f"  {rname:20s} nDCG@10 {m['ndcg@10']:.4f}  R@100 {m['recall@100']:.4f}  "
                  f"MRR@10 {m['mrr@10']:.4f}  {len(queries) / secs:6.1f} q/s", file=sys.stderr)
        return rows, {"dataset": name, "documents": len(corpus), "chunks": stored, "queries": len(queries),
                      "ingest_seconds": ingest_secs}
    finally:
        if args.server and not args.keep:
            admin.call("DELETE", f"/v1/namespaces/{ns}")


def verdict(rows):
    """Per dataset: hybrid's nDCG@10 against the better of bm25 and dense (the aim: +2 points)."""
    lines = []
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        by = {r["retriever"]: r["ndcg@10"] for r in rows if r["dataset"] == ds}
        best = max(by["bm25"], by["dense"])
        for h in [k for k in by if k.startswith("hybrid")]:
            delta = 100 * (by[h] - best)
            lines.append(f"{ds}: {h} {delta:+.2f} nDCG@10 points vs best single "
                         f"({'meets' if delta >= 2 else 'misses'} the +2 aim)")
    return lines


def print_table(rows):
    print("| dataset | retriever | nDCG@10 | recall@100 | MRR@10 | queries/s | server ms/query |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['dataset']} | {r['retriever']} | {r['ndcg@10']:.4f} | {r['recall@100']:.4f} | "
              f"{r['mrr@10']:.4f} | {r['qps']:.1f} | {r['server_ms']:.1f} |")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", action="append", required=True, help="a BEIR-layout folder (repeatable)")
    p.add_argument("--server", help="use this running server (base URL) instead of starting one")
    p.add_argument("--api-key", default=os.environ.get("STRATA_ADMIN_KEY"), help="admin key for --server")
    p.add_argument("--strata-bin", default=os.environ.get("STRATA_BIN") or os.path.join(REPO, "build", "strata"))
    p.add_argument("--model", default="use-lite", help="text_extractor embedding_model (use-lite, glove-100d, ...)")
    p.add_argument("--top-k", type=int, default=100, help="top_k of each search and final_top_k (>= 100)")
    p.add_argument("--split-by", default="none", help="text_extractor split_by (none: one chunk per document)")
    p.add_argument("--chunk-size", type=int, default=1000, help="text_extractor chunk_size")
    p.add_argument("--fusion-variants", action="store_true", help="also run other fusion settings")
    p.add_argument("--keep", action="store_true", help="with --server: keep the namespaces created")
    p.add_argument("--json", help="also write the rows to this JSON file")
    args = p.parse_args()
    if args.server and not args.api_key:
        p.error("--server needs --api-key (or STRATA_ADMIN_KEY)")
    if not 100 <= args.top_k <= 1000:
        p.error("--top-k must be from 100 (recall@100) to 1000 (the largest page)")
    return args


def main():
    args = parse_args()
    global DENSE  # the dense feature is named after the model: use-lite -> use_lite
    DENSE = "mixpeek://text_extractor@v1/" + re.sub(r"[^A-Za-z0-9]", "_", args.model)
    server = None
    if args.server:
        admin = Api(args.server, args.api_key)
    else:
        if not os.path.exists(args.strata_bin):
            sys.exit(f"strata binary not found at {args.strata_bin}: build first (make build)")
        server = OwnServer(args.strata_bin)
    try:
        if server:
            server.start()
            admin = Api(server.base, server.key)
        rows, meta = [], []
        for folder in args.data:
            r, m = bench_dataset(admin, folder, args)
            rows += r
            meta.append(m)
    finally:
        if server:
            server.stop()
    print_table(rows)
    print()
    for line in verdict(rows):
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"datasets": meta, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
