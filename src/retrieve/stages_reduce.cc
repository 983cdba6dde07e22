// Reduce stages: limit, sample, deduplicate, group_by, aggregate.
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "core/crypto.h"
#include "filter/filter.h"
#include "retrieve/stage.h"
#include "retrieve/values.h"

namespace strata::retrieve {

namespace {

Status Limit(StageRun& run, std::vector<Json>& docs) {
  const auto offset = static_cast<size_t>(run.params["offset"].get<int64_t>());
  const auto limit = static_cast<size_t>(run.params["limit"].get<int64_t>());
  if (offset >= docs.size()) {
    docs.clear();
    return Status::Ok();
  }
  docs.erase(docs.begin(), docs.begin() + static_cast<std::ptrdiff_t>(offset));
  if (docs.size() > limit) docs.resize(limit);
  return Status::Ok();
}

Status Sample(StageRun& run, std::vector<Json>& docs) {
  const Json& p = run.params;
  const auto count = static_cast<size_t>(p["count"].get<int64_t>());
  const auto keep_top = std::min(docs.size(), static_cast<size_t>(p["preserve_top_k"].get<int64_t>()));
  std::mt19937_64 rng(p["seed"].is_number_integer() ? p["seed"].get<uint64_t>() : std::random_device{}());
  std::vector<Json> out(docs.begin(), docs.begin() + static_cast<std::ptrdiff_t>(keep_top));
  std::vector<Json> rest(docs.begin() + static_cast<std::ptrdiff_t>(keep_top), docs.end());
  const size_t want = count > out.size() ? count - out.size() : 0;
  if (p["strategy"] == "stratified") {
    if (!p["stratify_by"].is_string()) {
      return Status::Invalid(run.loc + ".parameters.stratify_by", "stratified sampling needs stratify_by", "missing");
    }
    std::map<std::string, std::vector<Json>> strata;
    for (auto& d : rest) strata[GroupKey(DocField(d, p["stratify_by"]))].push_back(std::move(d));
    // Proportional shares, at least min_per_stratum each.
    const auto min_per = static_cast<size_t>(p["min_per_stratum"].get<int64_t>());
    const double total = static_cast<double>(rest.size());
    for (auto& [key, group] : strata) {
      std::shuffle(group.begin(), group.end(), rng);
      size_t n = std::max(min_per, static_cast<size_t>(static_cast<double>(want) * group.size() / std::max(total, 1.0)));
      for (size_t i = 0; i < std::min(n, group.size()); ++i) out.push_back(std::move(group[i]));
    }
  } else {  // random and reservoir give the same distribution over an in-memory list
    std::shuffle(rest.begin(), rest.end(), rng);
    for (size_t i = 0; i < std::min(want, rest.size()); ++i) out.push_back(std::move(rest[i]));
  }
  docs = std::move(out);
  return Status::Ok();
}

Status Deduplicate(StageRun& run, std::vector<Json>& docs) {
  const Json& p = run.params;
  std::vector<std::string> fields = p["fields"].get<std::vector<std::string>>();
  const bool by_content = p["strategy"] == "content";
  if (!by_content && fields.empty()) {
    return Status::Invalid(run.loc + ".parameters.fields", "deduplicate by field needs the fields that make a duplicate",
                           "missing");
  }
  std::vector<std::set<std::string>> kept_tokens;  // content strategy: token sets of kept documents
  std::set<std::string> seen;
  const double threshold = p["similarity_threshold"];
  if (p["keep"] == "last") std::reverse(docs.begin(), docs.end());
  std::vector<Json> out;
  for (auto& d : docs) {
    if (by_content) {
      const Json* v = DocField(d, p["content_field"]);
      const auto toks = filter::TextTokens(v == nullptr || v->is_null() ? "" : v->is_string() ? v->get<std::string>()
                                                                                                : v->dump());
      std::set<std::string> set(toks.begin(), toks.end());
      bool dup = false;
      for (const auto& k : kept_tokens) {
        size_t inter = 0;
        for (const auto& t : set) inter += k.count(t);
        const size_t uni = set.size() + k.size() - inter;
        if (uni == 0 || static_cast<double>(inter) / static_cast<double>(uni) >= threshold) {
          dup = true;
          break;
        }
      }
      if (dup) continue;
      kept_tokens.push_back(std::move(set));
    } else {
      std::string key;
      for (const auto& f : fields) key += GroupKey(DocField(d, f)) + '\x1f';
      if (!seen.insert(key).second) continue;
    }
    out.push_back(std::move(d));
  }
  if (p["keep"] == "last") std::reverse(out.begin(), out.end());
  docs = std::move(out);
  return Status::Ok();
}

Status GroupBy(StageRun& run, std::vector<Json>& docs) {
  const Json& p = run.params;
  const std::string field = p["group_by_field"], mode = p["output_mode"];
  const auto max_per = static_cast<size_t>(p["max_per_group"].get<int64_t>());
  std::vector<std::string> order;
  std::map<std::string, std::vector<Json>> groups;
  for (auto& d : docs) {
    const std::string key = GroupKey(DocField(d, field));
    auto& g = groups[key];
    if (g.empty()) order.push_back(key);
    if (g.size() < max_per || mode == "first") g.push_back(std::move(d));
  }
  std::vector<Json> out;
  for (const auto& key : order) {
    auto& g = groups[key];
    if (mode == "first") {
      out.push_back(std::move(g.front()));
    } else if (mode == "flatten") {
      for (auto& d : g) out.push_back(std::move(d));
    } else {  // all: one entry per group holding its documents
      const Json* v = DocField(g.front(), field);
      Json entry = {{"group_key", v == nullptr ? Json(nullptr) : *v},
                    {"document_id", g.front().value("document_id", "")},
                    {"score", ScoreOf(g.front())},
                    {"count", g.size()},
                    {"documents", g}};
      out.push_back(std::move(entry));
    }
  }
  run.metadata["groups"] = order.size();
  docs = std::move(out);
  return Status::Ok();
}

Status Aggregate(StageRun& run, std::vector<Json>& docs) {
  const Json& p = run.params;
  struct Acc {
    Json key = Json::object();
    int64_t count = 0;
    std::map<std::string, double> sum, min, max;
    std::map<std::string, int64_t> n;
    std::map<std::string, std::set<std::string>> distinct;
    std::vector<Json> docs;
  };
  std::vector<std::string> order;
  std::map<std::string, Acc> groups;
  for (auto& d : docs) {
    std::string key;
    Json kv = Json::object();
    for (const auto& g : p["group_by"]) {
      const std::string f = g.is_string() ? g.get<std::string>() : g.value("field", "");
      const std::string alias = g.is_object() && g.contains("alias") && g["alias"].is_string() ? g["alias"].get<std::string>() : f;
      const Json* v = DocField(d, f);
      kv[alias] = v == nullptr ? Json(nullptr) : *v;
      key += GroupKey(v) + '\x1f';
    }
    auto [it, fresh] = groups.try_emplace(key);
    if (fresh) order.push_back(key);
    Acc& a = it->second;
    a.key = kv;
    ++a.count;
    for (const auto& agg : p["aggregations"]) {
      const std::string fn = agg.value("function", "count"), f = agg.value("field", "");
      const std::string alias = agg.contains("alias") && agg["alias"].is_string() ? agg["alias"].get<std::string>() : fn + "_" + f;
      const Json* v = f.empty() ? nullptr : DocField(d, f);
      if (fn == "count_distinct" && v != nullptr) a.distinct[alias].insert(GroupKey(v));
      if (v == nullptr || !v->is_number()) continue;
      const double x = v->get<double>();
      a.sum[alias] += x;
      a.min[alias] = a.n[alias] ? std::min(a.min[alias], x) : x;
      a.max[alias] = a.n[alias] ? std::max(a.max[alias], x) : x;
      ++a.n[alias];
    }
    if (p["include_documents"] == true) a.docs.push_back(std::move(d));
  }
  std::vector<Json> out;
  for (const auto& key : order) {
    Acc& a = groups[key];
    Json row = a.key;
    for (const auto& agg : p["aggregations"]) {
      const std::string fn = agg.value("function", "count"), f = agg.value("field", "");
      const std::string alias = agg.contains("alias") && agg["alias"].is_string() ? agg["alias"].get<std::string>() : fn + "_" + f;
      if (fn == "count") row[alias] = f.empty() ? a.count : a.n[alias];
      else if (fn == "sum") row[alias] = a.sum[alias];
      else if (fn == "avg") row[alias] = a.n[alias] ? Json(a.sum[alias] / static_cast<double>(a.n[alias])) : Json(nullptr);
      else if (fn == "min") row[alias] = a.n[alias] ? Json(a.min[alias]) : Json(nullptr);
      else if (fn == "max") row[alias] = a.n[alias] ? Json(a.max[alias]) : Json(nullptr);
      else if (fn == "count_distinct") row[alias] = a.distinct[alias].size();
      else return Status::Invalid(run.loc + ".parameters.aggregations", "unknown aggregation function '" + fn +
                                  "' (count, sum, avg, min, max, count_distinct)", "enum");
    }
    if (p["include_documents"] == true) row["documents"] = a.docs;
    row["document_id"] = "agg_" + Sha256Hex(a.key.dump()).substr(0, 16);
    out.push_back(std::move(row));
  }
  if (p["sort_by"].is_string()) {
    const std::string by = p["sort_by"];
    const bool desc = p["sort_order"] == "desc";
    std::stable_sort(out.begin(), out.end(), [&](const Json& x, const Json& y) {
      const int c = CompareValues(x.value(by, Json()), y.value(by, Json()));
      return desc ? c > 0 : c < 0;
    });
  }
  if (p["limit"].is_number_integer() && out.size() > p["limit"].get<size_t>()) out.resize(p["limit"].get<size_t>());
  docs = std::move(out);
  return Status::Ok();
}

}  // namespace

void AddReduceStages(std::vector<StageDef>& out) {
  out.push_back({"limit", "reduce", "Keeps `limit` documents after skipping `offset`.", "list-end",
                 ParamsSchema({{"limit", {{"type", "integer"}, {"minimum", 0}, {"default", 10}}},
                         {"offset", {{"type", "integer"}, {"minimum", 0}, {"default", 0}}}}),
                 Limit});
  out.push_back({"sample", "reduce", "Draws a random or stratified sample, optionally keeping the top documents.",
                 "dice",
                 ParamsSchema({{"count", {{"type", "integer"}, {"minimum", 0}, {"default", 10}}},
                         {"strategy", {{"type", "string"}, {"enum", {"random", "stratified", "reservoir"}},
                                       {"default", "random"}}},
                         {"stratify_by", {{"type", {"string", "null"}}, {"default", nullptr}}},
                         {"min_per_stratum", {{"type", "integer"}, {"minimum", 0}, {"default", 1}}},
                         {"seed", {{"type", {"integer", "null"}}, {"default", nullptr}}},
                         {"preserve_top_k", {{"type", "integer"}, {"minimum", 0}, {"default", 0}}}}),
                 Sample});
  out.push_back({"deduplicate", "reduce",
                 "Drops documents equal on `fields`, or whose content is near-identical (Jaccard of tokens).",
                 "copy-minus",
                 ParamsSchema({{"strategy", {{"type", "string"}, {"enum", {"field", "content"}}, {"default", "field"}}},
                         {"fields", {{"type", "array"}, {"default", Json::array()}}},
                         {"content_field", {{"type", "string"}, {"default", "chunk_text"}}},
                         {"similarity_threshold", {{"type", "number"}, {"minimum", 0}, {"maximum", 1},
                                                   {"default", 0.95}}},
                         {"keep", {{"type", "string"}, {"enum", {"first", "last"}}, {"default", "first"}}}}),
                 Deduplicate});
  out.push_back({"group_by", "reduce",
                 "Groups documents by a field: the best of each group, all of them in one entry, or flattened.",
                 "group",
                 ParamsSchema({{"group_by_field", {{"type", "string"}, {"default", "source_object_id"}}},
                         {"max_per_group", {{"type", "integer"}, {"minimum", 1}, {"default", 10}}},
                         {"output_mode", {{"type", "string"}, {"enum", {"first", "all", "flatten"}},
                                          {"default", "first"}}}}),
                 GroupBy});
  out.push_back({"aggregate", "reduce", "Counts, sums, averages, minima and maxima per group.", "sigma",
                 ParamsSchema({{"aggregations", {{"type", "array"}, {"default", Json::array({{{"function", "count"}}})}}},
                         {"group_by", {{"type", "array"}, {"default", Json::array()}}},
                         {"sort_by", {{"type", {"string", "null"}}, {"default", nullptr}}},
                         {"sort_order", {{"type", "string"}, {"enum", {"asc", "desc"}}, {"default", "desc"}}},
                         {"limit", {{"type", {"integer", "null"}}, {"default", nullptr}}},
                         {"include_documents", {{"type", "boolean"}, {"default", false}}}}),
                 Aggregate});
}

}  // namespace strata::retrieve
