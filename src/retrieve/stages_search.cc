// feature_search: the stage that finds documents. Each entry of `searches`
// addresses one feature of the retriever's collections by its feature URI —
// a dense vector (nearest neighbours) or the lexical BM25 index — and the
// ranked lists are fused into one (fusion.h).
//
// Queries are embedded the way ingestion embeds documents: the collection's
// own extractor, with the collection's parameters, runs on the query text (or
// on a base64 content item), so a query and the documents it should find
// share one model and one preprocessing.
#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <unordered_set>

#include "catalog/collections.h"
#include "core/crypto.h"
#include "extract/registry.h"
#include "filter/filter.h"
#include "retrieve/fusion.h"
#include "storage/fts_query.h"
#include "retrieve/stage.h"
#include "retrieve/values.h"

namespace strata::retrieve {

namespace {

// One feature of one collection, as its vector_indexes describe it.
struct Feature {
  storage::Record collection;
  std::string name;      // storage name of the vector (or of the lexical output)
  std::string type;      // dense | sparse
  std::string distance;  // cosine | dot | euclidean | bm25
  int dimensions = 0;
};

std::optional<Feature> FindFeature(const storage::Record& col, const std::string& uri) {
  for (const auto& v : col.doc.value("vector_indexes", Json::array())) {
    if (v.value("feature_uri", "") != uri && v.value("name", "") != uri) continue;
    const Json& idx = v.value("index", Json::object());
    Feature f{col, v.value("name", ""), idx.value("type", "dense"), idx.value("distance", "cosine"), 0};
    if (idx.contains("dimensions") && idx["dimensions"].is_number_integer()) f.dimensions = idx["dimensions"];
    return f;
  }
  return std::nullopt;
}

// The query of one search, normalised: {input_mode, value, document_ref}.
struct Query {
  std::string mode;  // text | vector | document | content
  Json value;
  Json document_ref;
};

Result<Query> ParseQuery(const Json& q, const std::string& loc) {
  if (q.is_string()) return Query{"text", q, Json()};
  if (q.is_array()) return Query{"vector", q, Json()};
  if (!q.is_object()) {
    return Status::Invalid(loc, "a query is text, a vector, or {input_mode: text|vector|document|content, value}",
                           "type_error");
  }
  if (q.contains("text") && !q.contains("input_mode")) return Query{"text", q["text"], Json()};  // legacy form
  const std::string mode = q.value("input_mode", "text");
  if (mode != "text" && mode != "vector" && mode != "document" && mode != "content") {
    return Status::Invalid(loc + ".input_mode", "must be text, vector, document or content", "enum");
  }
  return Query{mode, q.value("value", Json()), q.value("document_ref", Json())};
}

// The query's text (text mode, or a content item decoded from base64 or a
// data: URI).
Result<std::string> QueryText(const Query& q, const std::string& loc) {
  if (q.mode == "text") {
    if (q.value.is_string()) return q.value.get<std::string>();
    if (q.value.is_null()) return std::string();
    return Status::Invalid(loc + ".value", "a text query must be a string", "type_error");
  }
  if (q.mode == "content") {
    if (!q.value.is_string()) return Status::Invalid(loc + ".value", "content is a base64 string or data: URI", "type_error");
    std::string v = q.value;
    if (v.rfind("data:", 0) == 0) {
      auto comma = v.find(',');
      if (comma == std::string::npos || v.substr(0, comma).find(";base64") == std::string::npos) {
        return Status::Invalid(loc + ".value", "a data: URI must be base64 (data:<type>;base64,<data>)", "value_error");
      }
      v = v.substr(comma + 1);
    } else if (v.rfind("http://", 0) == 0 || v.rfind("https://", 0) == 0) {
      return Status::Invalid(loc + ".value", "content by URL is not fetched at query time; send it as base64",
                             "value_error");
    }
    auto bytes = Base64Decode(v);
    if (!bytes) return Status::Invalid(loc + ".value", "content is not valid base64", "value_error");
    return *bytes;
  }
  return Status::Invalid(loc + ".input_mode", "this feature is searched by text or content", "value_error");
}

// Query vectors for a dense feature: the extractor's vectors of that name for
// the text (several when the extractor splits a long query into chunks).
Result<std::vector<std::vector<float>>> EmbedText(StageRun& run, const Feature& f, const std::string& text,
                                                  const std::string& loc) {
  const Json& fe = f.collection.doc["feature_extractor"];
  const extract::Extractor* ex = run.ctx.extractors.Find(fe.value("feature_extractor_name", ""), fe.value("version", ""));
  if (ex == nullptr) return Status::Unavailable("extractor " + fe.value("feature_extractor_id", "") + " is not available");
  ASSIGN_OR_RETURN(auto er, ex->Start(fe.value("parameters", Json::object())));
  extract::ExtractItem item{"query", {}};
  for (auto it = ex->info().input_schema.begin(); it != ex->info().input_schema.end(); ++it) {
    extract::InputValue in;
    in.name = it.key();
    in.value = text;
    item.inputs.push_back(std::move(in));
  }
  std::vector<std::vector<float>> out;
  Status st = er->Extract(item, [&](extract::ExtractedDocument&& d) -> Status {
    for (auto& [name, v] : d.vectors) {
      if (name == f.name) out.push_back(std::move(v));
    }
    return Status::Ok();
  });
  if (!st.ok()) return Status::Invalid(loc, "the query could not be embedded: " + st.message(), "value_error");
  return out;
}

Json Schema() {
  return {{"type", "object"},
          {"properties",
           {{"searches", {{"type", "array"}, {"default", Json::array()},
                          {"description", "[{feature_uri, query, top_k 100, min_score, weight 1.0, on_empty}]"}}},
            {"final_top_k", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10000}, {"default", 25}}},
            {"fusion", {{"type", "string"}, {"enum", {"rrf", "dbsf", "weighted", "max"}}, {"default", "rrf"}}},
            {"rrf_k", {{"type", "number"}, {"minimum", 1}, {"default", kRrfK}}},
            {"collection_identifiers", {{"type", {"array", "null"}}, {"default", nullptr}}},
            {"facets", {{"type", {"array", "null"}}, {"default", nullptr}}},
            {"group_by", {{"type", {"object", "null"}}, {"default", nullptr}}},
            {"query_preprocessing", {{"type", {"object", "null"}}, {"default", nullptr}}}}},
          {"additionalProperties", false}};
}

class Search {
 public:
  Search(StageRun& run) : run_(run), p_(run.params) {}

  Status Run(std::vector<Json>& docs) {
    RETURN_IF_ERROR(LoadCollections());
    if (run_.pre_filter_json != nullptr) RETURN_IF_ERROR(CheckFilterFields(*run_.pre_filter_json));
    RETURN_IF_ERROR(ApplyPreFilter());
    std::vector<RankedList> lists;
    const Json& searches = p_["searches"];
    for (size_t i = 0; i < searches.size(); ++i) {
      RETURN_IF_ERROR(run_.CheckDeadline());
      const std::string loc = run_.loc + ".parameters.searches[" + std::to_string(i) + "]";
      ASSIGN_OR_RETURN(auto list, RunOne(searches[i], loc));
      if (list) lists.push_back(std::move(*list));
    }
    std::vector<VectorHit> fused;
    if (searches.empty()) {
      // Filter-only mode: the pre-filtered documents in insertion order.
      if (!allowed_) return Status::Invalid(run_.loc + ".parameters.searches", "give at least one search, or pre_filters",
                                            "missing");
      for (const auto& id : *allowed_) fused.push_back({id, 1.0});
    } else if (lists.size() == 1 && p_["fusion"] != "dbsf") {
      fused = std::move(lists[0].hits);  // one list: its own scores
    } else {
      ASSIGN_OR_RETURN(fused, Fuse(p_["fusion"], lists, p_["rrf_k"].get<double>()));
    }
    // Nothing found: say so when it is because there is nothing to search.
    if (fused.empty()) RETURN_IF_ERROR(CheckNotEmpty());
    run_.metadata["candidates"] = fused.size();
    RETURN_IF_ERROR(Load(fused, docs));
    Facets(docs);
    RETURN_IF_ERROR(GroupDocs(docs));
    run_.outputs["top_score"] = docs.empty() ? Json(nullptr) : Json(ScoreOf(docs.front()));
    run_.outputs["count"] = docs.size();
    return Status::Ok();
  }

 private:
  Status LoadCollections() {
    Json ids = p_["collection_identifiers"].is_array() && !p_["collection_identifiers"].empty()
                   ? p_["collection_identifiers"]
                   : Json(*run_.collection_ids);
    if (ids.empty()) {
      return Status::Invalid(run_.loc + ".parameters.collection_identifiers",
                             "no collection to search: give the retriever collection_identifiers", "missing");
    }
    return run_.ctx.store.Read([&](storage::Reader& r) -> Status {
      for (const auto& id : ids) {
        auto col = catalog::LoadCollection(r, run_.ctx.scope, id.get<std::string>());
        if (!col.ok()) return Status::Invalid("collection_identifiers", col.status().message(), "not_found");
        collections_.push_back(std::move(col).value());
      }
      return Status::Ok();
    });
  }

  // A search over collections that hold nothing yet is a mistake worth
  // naming (the batch has not run, or ran into another collection).
  Status CheckNotEmpty() {
    bool any = false;
    RETURN_IF_ERROR(run_.ctx.store.Read([&](storage::Reader& r) -> Status {
      for (const auto& col : collections_) {
        storage::ListQuery q;  // one row is enough: no COUNT over the collection
        q.parent = col.id;
        q.limit = 1;
        ASSIGN_OR_RETURN(auto page, r.List(storage::Kind::kDocument, run_.ctx.scope, q));
        any = any || !page.records.empty();
      }
      return Status::Ok();
    }));
    if (any) return Status::Ok();
    std::string names;
    for (const auto& col : collections_) names += (names.empty() ? "" : ", ") + col.doc.value("collection_name", col.id);
    return Status::Invalid(run_.loc + ".parameters.collection_identifiers",
                           "the collections searched (" + names + ") hold no documents yet: process a batch first",
                           "empty_collection");
  }

  // The fields a pre-filter names must exist in the collections' output schema
  // (or be one of the document's own keys): a typo would otherwise silently
  // match nothing.
  Status CheckFilterFields(const Json& filters) {
    std::set<std::string> known = {"document_id", "collection_id", "_internal", "source_object_id", "root_object_id"};
    for (const auto& col : collections_) {
      const Json& props = col.doc.value("output_schema", Json::object()).value("properties", Json::object());
      for (auto it = props.begin(); it != props.end(); ++it) known.insert(it.key());
    }
    std::function<Status(const Json&)> walk = [&](const Json& n) -> Status {
      if (n.is_array()) {
        for (const auto& x : n) RETURN_IF_ERROR(walk(x));
        return Status::Ok();
      }
      if (!n.is_object()) return Status::Ok();
      for (auto it = n.begin(); it != n.end(); ++it) {
        const std::string& k = it.key();
        if (k == "AND" || k == "OR" || k == "NOT") {
          RETURN_IF_ERROR(walk(it.value()));
        } else if (k == "field" && it.value().is_string()) {
          const std::string f = it.value();
          if (!known.count(f.substr(0, f.find('.')))) {
            return Status::Invalid(run_.loc + ".config.pre_filters",
                                   "no collection searched has a field '" + f + "' (see its output_schema)", "not_found");
          }
        } else if (k != "operator" && k != "value" && k != "case_sensitive" && k != "field" &&
                   !known.count(k.substr(0, k.find('.')))) {
          return Status::Invalid(run_.loc + ".config.pre_filters",
                                 "no collection searched has a field '" + k + "' (see its output_schema)", "not_found");
        }
      }
      return Status::Ok();
    };
    return walk(filters);
  }

  // pre_filters: the documents a search may return, listed once per stage.
  Status ApplyPreFilter() {
    if (run_.pre_filter == nullptr || filter::MatchesAll(*run_.pre_filter)) return Status::Ok();
    allowed_.emplace();
    return run_.ctx.store.Read([&](storage::Reader& r) -> Status {
      for (const auto& col : collections_) {
        storage::ListQuery q;
        q.parent = col.id;
        q.filter = run_.pre_filter;
        q.limit = 1000;
        while (true) {
          ASSIGN_OR_RETURN(auto page, r.List(storage::Kind::kDocument, run_.ctx.scope, q));
          for (const auto& rec : page.records) allowed_->push_back(rec.id);
          if (page.next_cursor.empty()) break;
          q.cursor = page.next_cursor;
        }
      }
      allowed_set_.insert(allowed_->begin(), allowed_->end());
      run_.metadata["pre_filter_matches"] = allowed_->size();
      return Status::Ok();
    });
  }

  Result<std::optional<RankedList>> RunOne(const Json& s, const std::string& loc) {
    if (!s.is_object() || !s.contains("feature_uri") || !s["feature_uri"].is_string()) {
      return Status::Invalid(loc + ".feature_uri", "each search needs a feature_uri (see the collection's vector_indexes)",
                             "missing");
    }
    const std::string uri = s["feature_uri"];
    const int top_k = s.value("top_k", 100);
    if (top_k < 1 || top_k > 10000) return Status::Invalid(loc + ".top_k", "must be between 1 and 10000", "value_error");
    const double weight = s.contains("weight") && s["weight"].is_number() ? s["weight"].get<double>() : 1.0;
    const std::string on_empty = s.value("on_empty", "error");
    std::vector<Feature> features;
    for (const auto& col : collections_) {
      if (auto f = FindFeature(col, uri)) features.push_back(std::move(*f));
    }
    if (features.empty()) {
      std::string known;
      for (const auto& col : collections_) {
        for (const auto& v : col.doc.value("vector_indexes", Json::array())) known += (known.empty() ? "" : ", ") + v.value("feature_uri", "");
      }
      return Status::Invalid(loc + ".feature_uri", "no collection of this retriever has the feature '" + uri +
                                                       "' (known: " + (known.empty() ? "none" : known) + ")",
                             "not_found");
    }
    ASSIGN_OR_RETURN(Query q, ParseQuery(s.value("query", Json()), loc + ".query"));
    const bool empty_query = (q.mode == "text" && (!q.value.is_string() || q.value.get<std::string>().empty())) ||
                             (q.mode == "vector" && (!q.value.is_array() || q.value.empty()));
    if (empty_query) {
      if (on_empty == "skip") return std::optional<RankedList>();
      if (on_empty == "random") return RandomList(features, top_k, weight);
      return Status::Invalid(loc + ".query", "the query is empty (set on_empty to skip or random to allow that)",
                             "missing");
    }
    std::vector<VectorHit> hits;
    for (const auto& f : features) {
      ASSIGN_OR_RETURN(auto some, f.type == "sparse" ? Lexical(f, q, top_k, loc) : Dense(f, q, top_k, loc));
      hits.insert(hits.end(), some.begin(), some.end());
    }
    std::stable_sort(hits.begin(), hits.end(), [](const VectorHit& a, const VectorHit& b) { return a.score > b.score; });
    if (s.contains("min_score") && s["min_score"].is_number()) {
      const double min = s["min_score"];
      hits.erase(std::remove_if(hits.begin(), hits.end(), [&](const VectorHit& h) { return h.score < min; }), hits.end());
    }
    if (hits.size() > static_cast<size_t>(top_k)) hits.resize(static_cast<size_t>(top_k));
    run_.metadata["searches"].push_back({{"feature_uri", uri}, {"results", hits.size()}});
    return std::optional<RankedList>(RankedList{std::move(hits), weight});
  }

  Result<std::vector<VectorHit>> Dense(const Feature& f, const Query& q, int top_k, const std::string& loc) {
    std::vector<std::vector<float>> vectors;
    if (q.mode == "vector") {
      std::vector<float> v;
      for (const auto& x : q.value) {
        if (!x.is_number()) return Status::Invalid(loc + ".query.value", "a vector holds numbers", "type_error");
        v.push_back(x.get<float>());
      }
      vectors.push_back(std::move(v));
    } else if (q.mode == "document") {
      const Json& ref = q.document_ref;
      if (!ref.is_object() || !ref.contains("document_id") || !ref["document_id"].is_string()) {
        return Status::Invalid(loc + ".query.document_ref", "needs {collection_id, document_id}", "missing");
      }
      std::vector<std::pair<std::string, std::vector<float>>> stored;
      RETURN_IF_ERROR(run_.ctx.store.Read([&](storage::Reader& r) -> Status {
        // The document must be one of this namespace's.
        auto doc = r.Get(storage::Kind::kDocument, run_.ctx.scope, ref["document_id"].get<std::string>());
        if (!doc.ok()) {
          return Status::Invalid(loc + ".query.document_ref.document_id",
                                 "document '" + ref["document_id"].get<std::string>() + "' not found", "not_found");
        }
        ASSIGN_OR_RETURN(stored, r.GetVectors(doc->id));
        return Status::Ok();
      }));
      for (auto& [name, v] : stored) {
        if (name == f.name) vectors.push_back(std::move(v));
      }
      if (vectors.empty()) {
        return Status::Invalid(loc + ".query.document_ref", "the document has no '" + f.name + "' vector", "value_error");
      }
    } else {
      ASSIGN_OR_RETURN(std::string text, QueryText(q, loc + ".query"));
      ASSIGN_OR_RETURN(vectors, EmbedText(run_, f, text, loc + ".query"));
      if (vectors.empty()) return std::vector<VectorHit>();
    }
    std::vector<RankedList> per_vector;
    for (const auto& v : vectors) {
      if (f.dimensions > 0 && static_cast<int>(v.size()) != f.dimensions) {
        return Status::Invalid(loc + ".query.value", "the vector has " + std::to_string(v.size()) +
                                                         " dimensions; '" + f.name + "' has " +
                                                         std::to_string(f.dimensions),
                               "value_error");
      }
      ASSIGN_OR_RETURN(auto hits, run_.ctx.vectors.Search(f.collection.id, f.name, f.distance, v, top_k,
                                                          allowed_ ? &*allowed_ : nullptr));
      per_vector.push_back({std::move(hits), 1.0});
    }
    if (per_vector.size() == 1) return std::move(per_vector[0].hits);
    return Fuse("max", per_vector);  // a query split into chunks: each document's best chunk match
  }

  Result<std::vector<VectorHit>> Lexical(const Feature& f, const Query& q, int top_k, const std::string& loc) {
    ASSIGN_OR_RETURN(std::string text, QueryText(q, loc + ".query"));
    const std::string match = storage::FtsMatchAny(text);
    if (match.empty()) return std::vector<VectorHit>();
    // With a pre-filter, rank everything the text matches and keep the allowed.
    const int64_t limit = allowed_ ? 1000000 : top_k;
    std::vector<storage::TextHit> hits;
    RETURN_IF_ERROR(run_.ctx.store.Read([&](storage::Reader& r) -> Status {
      ASSIGN_OR_RETURN(hits, r.SearchText(run_.ctx.scope, f.collection.id, match, limit));
      return Status::Ok();
    }));
    std::vector<VectorHit> out;
    for (auto& h : hits) {
      if (allowed_ && !allowed_set_.count(h.doc_id)) continue;
      out.push_back({std::move(h.doc_id), h.score});
      if (out.size() >= static_cast<size_t>(top_k)) break;
    }
    return out;
  }

  Result<std::optional<RankedList>> RandomList(const std::vector<Feature>& features, int top_k, double weight) {
    std::vector<std::string> ids;
    if (allowed_) {
      ids = *allowed_;
    } else {
      RETURN_IF_ERROR(run_.ctx.store.Read([&](storage::Reader& r) -> Status {
        for (const auto& f : features) {
          storage::ListQuery q;
          q.parent = f.collection.id;
          q.limit = 1000;
          ASSIGN_OR_RETURN(auto page, r.List(storage::Kind::kDocument, run_.ctx.scope, q));
          for (const auto& rec : page.records) ids.push_back(rec.id);
        }
        return Status::Ok();
      }));
    }
    std::shuffle(ids.begin(), ids.end(), std::mt19937_64(std::random_device{}()));
    RankedList list{{}, weight};
    for (size_t i = 0; i < std::min(ids.size(), static_cast<size_t>(top_k)); ++i) list.hits.push_back({ids[i], 0.0});
    return std::optional<RankedList>(std::move(list));
  }

  // The first final_top_k fused documents, as the API shows them, with scores.
  Status Load(const std::vector<VectorHit>& fused, std::vector<Json>& docs) {
    const size_t n = std::min(fused.size(), static_cast<size_t>(p_["final_top_k"].get<int64_t>()));
    docs.clear();
    return run_.ctx.store.Read([&](storage::Reader& r) -> Status {
      for (size_t i = 0; i < n; ++i) {
        auto rec = r.Get(storage::Kind::kDocument, run_.ctx.scope, fused[i].doc_id);
        if (!rec.ok()) {
          if (rec.status().code() == StatusCode::kNotFound) continue;  // deleted since the index saw it
          return rec.status();
        }
        Json d = std::move(rec->doc);
        d["score"] = fused[i].score;
        docs.push_back(std::move(d));
      }
      return Status::Ok();
    });
  }

  // facets: [{key, limit 10}] counts of each value of `key` among the results.
  void Facets(const std::vector<Json>& docs) {
    if (!p_["facets"].is_array()) return;
    Json out = Json::object();
    for (const auto& f : p_["facets"]) {
      const std::string key = f.is_string() ? f.get<std::string>() : f.value("key", "");
      if (key.empty()) continue;
      const size_t limit = f.is_object() ? f.value("limit", 10) : 10;
      std::map<std::string, std::pair<Json, int64_t>> counts;
      for (const auto& d : docs) {
        const Json* v = FindPath(d, key);
        if (v == nullptr || v->is_null()) continue;
        auto& c = counts[GroupKey(v)];
        c.first = *v;
        ++c.second;
      }
      std::vector<std::pair<Json, int64_t>> sorted;
      for (auto& [k, c] : counts) sorted.push_back(c);
      std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
      Json values = Json::array();
      for (size_t i = 0; i < std::min(limit, sorted.size()); ++i) values.push_back({{"value", sorted[i].first}, {"count", sorted[i].second}});
      out[key] = values;
    }
    run_.metadata["facets"] = out;
  }

  // group_by {field, max_per_group 1, limit 25}: the best documents of each group.
  Status GroupDocs(std::vector<Json>& docs) {
    const Json& g = p_["group_by"];
    if (!g.is_object()) return Status::Ok();
    if (!g.contains("field") || !g["field"].is_string()) {
      return Status::Invalid(run_.loc + ".parameters.group_by.field", "group_by needs a field", "missing");
    }
    const std::string field = g["field"];
    const size_t per = g.value("max_per_group", 1), limit = g.value("limit", 25);
    std::map<std::string, size_t> seen;
    std::vector<Json> out;
    for (auto& d : docs) {
      const Json* v = FindPath(d, field);
      if (v == nullptr) v = FindPath(d, "_internal.lineage." + field);
      const std::string key = GroupKey(v);
      auto& n = seen[key];
      if (n == 0 && seen.size() > limit) break;
      if (n++ < per) out.push_back(std::move(d));
    }
    docs = std::move(out);
    return Status::Ok();
  }

  StageRun& run_;
  const Json& p_;
  std::vector<storage::Record> collections_;
  std::optional<std::vector<std::string>> allowed_;
  std::unordered_set<std::string> allowed_set_;
};

}  // namespace

void AddSearchStages(std::vector<StageDef>& out) {
  out.push_back({"feature_search", "filter",
                 "Finds documents by their features: dense vector search and BM25 full-text search over the "
                 "collections' feature URIs, several searches fused (rrf, dbsf, weighted, max).",
                 "search", Schema(),
                 [](StageRun& run, std::vector<Json>& docs) { return Search(run).Run(docs); }});
}

}  // namespace strata::retrieve
