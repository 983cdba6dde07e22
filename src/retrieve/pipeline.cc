#include "retrieve/pipeline.h"

#include <chrono>
#include <map>
#include <set>

#include "catalog/collections.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/time_util.h"
#include "extract/parameters.h"
#include "filter/eval.h"
#include "retrieve/retriever_spec.h"
#include "retrieve/template.h"

namespace strata::retrieve {

namespace {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// The collections a pipeline reads: the retriever's, and those its stages name.
std::vector<std::string> ReadCollections(const ExecuteRequest& req) {
  std::set<std::string> ids(req.collection_ids.begin(), req.collection_ids.end());
  for (const auto& s : req.stages) {
    const Json& p = s["config"]["parameters"];
    if (p.contains("collection_identifiers") && p["collection_identifiers"].is_array()) {
      for (const auto& c : p["collection_identifiers"]) {
        if (c.is_string()) ids.insert(c.get<std::string>());
      }
    }
    if (p.contains("target_collection_id") && p["target_collection_id"].is_string()) {
      ids.insert(p["target_collection_id"].get<std::string>());
    }
  }
  return {ids.begin(), ids.end()};
}

// The optimizer's one rule: an attribute_filter right after a feature_search,
// without templates, whose fields the namespace indexes (payload_indexes),
// becomes part of the search's pre_filters, so the search ranks only matching
// documents instead of filtering its top results afterwards.
Json Optimize(const Json& stages, const std::set<std::string>& indexed, Json& summary) {
  Json out = Json::array();
  Json rules = Json::array();
  for (size_t i = 0; i < stages.size(); ++i) {
    const Json& s = stages[i];
    const Json& c = s["config"];
    if (c["stage_id"] == "attribute_filter" && !out.empty() && out.back()["config"]["stage_id"] == "feature_search" &&
        !HasTemplate(c["parameters"]) && !c.contains("when") && !c.contains("post_filters") &&
        !c.contains("pre_filters")) {
      const Json& p = c["parameters"];
      Json cond;
      std::set<std::string> fields;
      if (p.contains("conditions") && p["conditions"].is_object()) {
        cond = p["conditions"];
        std::function<void(const Json&)> collect = [&](const Json& n) {
          if (n.is_object()) {
            if (n.contains("field") && n["field"].is_string()) fields.insert(n["field"]);
            for (const char* k : {"AND", "OR", "NOT"}) {
              if (n.contains(k)) collect(n[k]);
            }
            for (auto it = n.begin(); it != n.end(); ++it) {
              if (it.key() != "AND" && it.key() != "OR" && it.key() != "NOT" && it.key() != "field" &&
                  it.key() != "operator" && it.key() != "value" && it.key() != "case_sensitive") {
                fields.insert(it.key());  // shorthand {"field": value}
              }
            }
          } else if (n.is_array()) {
            for (const auto& x : n) collect(x);
          }
        };
        collect(cond);
      } else if (p.contains("field") && p["field"].is_string()) {
        cond = {{"field", p["field"]}, {"operator", p.value("operator", "eq")}, {"value", p.value("value", Json())}};
        fields.insert(p["field"]);
      }
      bool all_indexed = !fields.empty();
      for (const auto& f : fields) all_indexed = all_indexed && indexed.count(f);
      Json& search = out.back()["config"];
      if (all_indexed && !HasTemplate(search.value("pre_filters", Json()))) {
        Json pre = search.value("pre_filters", Json());
        search["pre_filters"] = pre.is_null() ? Json{{"AND", Json::array({cond})}}
                                              : Json{{"AND", Json::array({pre, cond})}};
        rules.push_back("push_down_filters");
        continue;  // the stage is absorbed
      }
    }
    out.push_back(s);
  }
  summary = {{"original_stage_count", stages.size()},
             {"optimized_stage_count", out.size()},
             {"optimization_time_ms", 0},
             {"rules_applied", rules},
             {"stage_reduction_pct",
              stages.empty() ? 0.0 : 100.0 * static_cast<double>(stages.size() - out.size()) / static_cast<double>(stages.size())}};
  return out;
}

Result<std::set<std::string>> IndexedFields(RetrieveContext& ctx) {
  std::set<std::string> out;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    auto ns = r.Get(storage::Kind::kNamespace, storage::Scope{ctx.scope.org, ""}, ctx.scope.ns);
    if (!ns.ok()) return Status::Ok();
    for (const auto& p : ns->doc.value("payload_indexes", Json::array())) {
      if (p.contains("field_name") && p["field_name"].is_string()) out.insert(p["field_name"].get<std::string>());
    }
    return Status::Ok();
  }));
  return out;
}

// Pagination: cursor (opaque offset), offset (page_size, page_number), keyset
// (after {score, id}). Returns the page and fills `info`.
Result<std::vector<Json>> Paginate(std::vector<Json> docs, const Json& pg, Json& info) {
  const Json p = pg.is_object() ? pg : Json::object();
  const std::string method = p.value("method", "cursor");
  auto int_field = [&](const char* key, int64_t fallback, int64_t lo, int64_t hi) -> Result<int64_t> {
    if (!p.contains(key) || p[key].is_null()) return fallback;
    if (!p[key].is_number_integer() || p[key].get<int64_t>() < lo || p[key].get<int64_t>() > hi) {
      return Status::Invalid(std::string("body.pagination.") + key,
                             "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi), "value_error");
    }
    return p[key].get<int64_t>();
  };
  size_t start = 0, size = 0;
  const size_t total = docs.size();
  if (method == "cursor" || method == "scroll") {
    ASSIGN_OR_RETURN(int64_t limit, int_field("limit", method == "scroll" ? 100 : 10, 1, 1000));
    size = static_cast<size_t>(limit);
    const Json cur = p.value(method == "scroll" ? "scroll_id" : "cursor", Json());
    if (cur.is_string() && !cur.get<std::string>().empty()) {
      auto raw = Base64Decode(cur.get<std::string>());
      auto j = raw ? ParseJson(*raw, 2) : Result<Json>(Status::Invalid("", "", ""));
      if (!j.ok() || !j->is_object() || !(*j)["o"].is_number_unsigned()) {
        return Status::Invalid("body.pagination.cursor", "invalid cursor: pass next_cursor from the previous page unchanged",
                               "value_error");
      }
      start = (*j)["o"].get<size_t>();
    }
    const size_t end = std::min(total, start + size);
    info = {{"method", method}, {"limit", limit}, {"total", total}, {"has_more", end < total},
            {"next_cursor", end < total ? Json(Base64UrlEncode(Json{{"o", end}}.dump())) : Json(nullptr)}};
    if (method == "scroll") info["scroll_id"] = info["next_cursor"];
  } else if (method == "offset") {
    ASSIGN_OR_RETURN(int64_t page_size, int_field("page_size", 10, 1, 1000));
    ASSIGN_OR_RETURN(int64_t page_number, int_field("page_number", 1, 1, 1000000));
    size = static_cast<size_t>(page_size);
    start = static_cast<size_t>((page_number - 1) * page_size);
    const size_t pages = (total + size - 1) / size;
    info = {{"method", "offset"}, {"page_size", page_size}, {"page_number", page_number}, {"total", total},
            {"total_pages", pages}, {"has_more", start + size < total}};
  } else if (method == "keyset") {
    ASSIGN_OR_RETURN(int64_t limit, int_field("limit", 10, 1, 1000));
    size = static_cast<size_t>(limit);
    const Json after = p.value("after", Json());
    if (after.is_object()) {
      // The position just past the document with that id (the list's order
      // is the pipeline's; the score guards against a changed ranking).
      const std::string id = after.value("id", after.value("document_id", ""));
      start = total;
      for (size_t i = 0; i < total; ++i) {
        if (docs[i].value("document_id", "") == id) {
          start = i + 1;
          break;
        }
      }
      if (start == total && !id.empty()) {
        // Not in this answer any more: resume after the first lower score.
        const double score = after.value("score", 0.0);
        start = 0;
        while (start < total && ScoreOf(docs[start]) >= score) ++start;
      }
    } else if (!after.is_null()) {
      return Status::Invalid("body.pagination.after", "must be {score, id} from the previous page", "type_error");
    }
    const size_t end = std::min(total, start + size);
    Json next = end < total && end > start
                    ? Json{{"score", ScoreOf(docs[end - 1])}, {"id", docs[end - 1].value("document_id", "")}}
                    : Json(nullptr);
    info = {{"method", "keyset"}, {"limit", limit}, {"total", total}, {"has_more", end < total}, {"next_after", next}};
  } else {
    return Status::Invalid("body.pagination.method", "must be cursor, offset, scroll or keyset", "enum");
  }
  if (start >= total) return std::vector<Json>();
  const size_t end = std::min(total, start + size);
  return std::vector<Json>(std::make_move_iterator(docs.begin() + static_cast<std::ptrdiff_t>(start)),
                           std::make_move_iterator(docs.begin() + static_cast<std::ptrdiff_t>(end)));
}

}  // namespace

Result<std::string> CollectionsSignature(RetrieveContext& ctx, const std::vector<std::string>& collection_ids) {
  std::string material;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    for (const auto& id : collection_ids) {
      auto col = catalog::LoadCollection(r, ctx.scope, id);
      if (!col.ok()) {
        material += id + ":missing;";
        continue;
      }
      ASSIGN_OR_RETURN(std::string signature, catalog::IndexSignature(r, col->doc));
      material += signature + ";";
    }
    return Status::Ok();
  }));
  return Sha256Hex(material).substr(0, 32);
}

std::string ResponseKey(const ExecuteRequest& req, const std::string& signature) {
  Json k = {{"retriever", req.retriever_id}, {"version", req.version}, {"stages", req.stages},
            {"inputs", req.inputs},          {"pagination", req.pagination}, {"collections", req.collection_ids},
            {"signature", signature}};
  return Sha256Hex(k.dump());
}

Result<Json> Execute(RetrieveContext& ctx, const ExecuteRequest& req) {
  const auto started = Clock::now();
  const std::string created_at = NowIso8601();
  ASSIGN_OR_RETURN(Json inputs, ResolveInputs(req.input_schema, req.inputs));
  ASSIGN_OR_RETURN(auto indexed, IndexedFields(ctx));
  Json optimization;
  const auto opt_start = Clock::now();
  const Json stages = Optimize(req.stages, indexed, optimization);
  optimization["optimization_time_ms"] = MillisSince(opt_start);

  Json limits = req.budget_limits.is_object() ? req.budget_limits : Json::object();
  auto deadline = Clock::time_point::max();
  if (limits.contains("max_time_ms") && limits["max_time_ms"].is_number_integer()) {
    deadline = started + std::chrono::milliseconds(limits["max_time_ms"].get<int64_t>());
  }
  std::string signature;
  if (req.stage_cache != nullptr) {
    ASSIGN_OR_RETURN(signature, CollectionsSignature(ctx, ReadCollections(req)));
  }

  Json stage_outputs = Json::object();
  Json context = {{"namespace_id", ctx.scope.ns}, {"retriever_id", req.retriever_id}, {"time_elapsed_ms", 0},
                  {"budget_remaining", limits.value("max_credits", Json(nullptr))}};
  Json stats = Json::object();
  std::vector<Json> docs;
  for (size_t i = 0; i < stages.size(); ++i) {
    const Json& s = stages[i];
    const Json& cfg = s["config"];
    const std::string name = s["stage_name"], loc = "stages[" + std::to_string(i) + "]";
    const StageDef* def = FindStage(cfg["stage_id"]);
    const auto t0 = Clock::now();
    context["time_elapsed_ms"] = MillisSince(started);
    TemplateContext tctx{&inputs, nullptr, &context, &stage_outputs, nullptr};
    StageRun run{ctx, name, loc};
    run.inputs = &inputs;
    run.collection_ids = &req.collection_ids;
    run.deadline = deadline;
    RETURN_IF_ERROR(run.CheckDeadline());
    // Parameters: rendered, checked, completed with defaults (which may be
    // templates themselves, like rerank's query).
    // Per-document parameters are set aside, compiled now (so a bad
    // expression fails before any work) and rendered by the stage per document.
    Json stage_params = cfg["parameters"];
    std::map<std::string, JsonTemplate> per_doc;
    for (const auto& key : def->per_document) {
      if (!stage_params.is_object() || !stage_params.contains(key)) continue;
      ASSIGN_OR_RETURN(auto t, JsonTemplate::Compile(stage_params[key], loc + ".config.parameters." + key));
      per_doc.emplace(key, std::move(t));
      stage_params.erase(key);
    }
    ASSIGN_OR_RETURN(auto compiled, JsonTemplate::Compile(stage_params, loc + ".config.parameters"));
    ASSIGN_OR_RETURN(Json rendered, compiled.Render(tctx));
    for (const auto& key : def->per_document) {
      if (cfg["parameters"].is_object() && cfg["parameters"].contains(key)) rendered[key] = cfg["parameters"][key];
    }
    ASSIGN_OR_RETURN(run.params, extract::ResolveParameters(def->parameter_schema, rendered, loc + ".config.parameters"));
    for (auto it = run.params.begin(); it != run.params.end(); ++it) {
      if (!rendered.contains(it.key()) && HasTemplate(it.value())) {
        ASSIGN_OR_RETURN(auto d, JsonTemplate::Compile(it.value(), loc + ".config.parameters." + it.key()));
        ASSIGN_OR_RETURN(it.value(), d.Render(tctx));
      }
    }
    Json pre_json;
    auto parse_filter = [&](const char* key) -> Result<std::optional<filter::Node>> {
      if (!cfg.contains(key) || cfg[key].is_null()) return std::optional<filter::Node>();
      ASSIGN_OR_RETURN(auto t, JsonTemplate::Compile(cfg[key], loc + ".config." + key));
      ASSIGN_OR_RETURN(Json f, t.Render(tctx));
      if (std::string(key) == "pre_filters") pre_json = f;
      ASSIGN_OR_RETURN(filter::Node n, filter::Parse(f, loc + ".config." + key));
      return std::optional<filter::Node>(std::move(n));
    };
    ASSIGN_OR_RETURN(auto pre, parse_filter("pre_filters"));
    ASSIGN_OR_RETURN(auto post, parse_filter("post_filters"));
    ASSIGN_OR_RETURN(auto when, parse_filter("when"));
    if (pre) {
      run.pre_filter = &*pre;
      run.pre_filter_json = &pre_json;
    }
    run.render_for_doc = [&](const std::string& param, const Json& doc) -> Result<Json> {
      auto it = per_doc.find(param);
      if (it == per_doc.end()) return Status::Internal(loc + ": " + param + " is not a per-document parameter");
      TemplateContext dctx{&inputs, &doc, &context, &stage_outputs, nullptr};
      return it->second.Render(dctx);
    };

    const size_t input_count = docs.size();
    // `when`: the stage works on the documents that match; the rest pass by.
    std::vector<Json> passing;
    if (when) {
      std::vector<Json> matching;
      for (auto& d : docs) (filter::Matches(*when, d) ? matching : passing).push_back(std::move(d));
      docs = std::move(matching);
    }
    bool cache_hit = false;
    std::string cache_key;
    const std::string behavior = cfg.value("cache_behavior", "auto");
    if (req.stage_cache != nullptr && def->id == "feature_search" && behavior != "disabled") {
      cache_key = Sha256Hex(Json{{"p", run.params}, {"pre", cfg.value("pre_filters", Json())}, {"sig", signature},
                                 {"c", req.collection_ids}}.dump() + "|" + (pre ? "f" : ""));
      if (auto hit = req.stage_cache->Get(cache_key)) {
        docs.clear();
        for (auto& d : (*hit)["docs"]) docs.push_back(std::move(d));
        run.outputs = (*hit)["outputs"];
        run.metadata = (*hit)["metadata"];
        cache_hit = true;
      }
    }
    Status st = Status::Ok();
    if (!cache_hit) {
      std::vector<Json> before = cfg.value("on_error", "raise") == "skip" ? docs : std::vector<Json>();
      st = def->run(run, docs);
      if (!st.ok()) {
        const std::string on_error = cfg.value("on_error", "raise");
        if (on_error == "raise") {
          Status named = st;
          if (st.code() != StatusCode::kValidation) {
            named = Status(st.code(), "stage '" + name + "' (" + def->id + ") failed: " + st.message());
          }
          return named;
        }
        docs = on_error == "skip" ? std::move(before) : std::vector<Json>();
      } else if (!cache_key.empty()) {
        const int64_t ttl = cfg.contains("cache_ttl_seconds") && cfg["cache_ttl_seconds"].is_number_integer()
                                ? cfg["cache_ttl_seconds"].get<int64_t>()
                                : 0;
        req.stage_cache->Put(cache_key, {{"docs", docs}, {"outputs", run.outputs}, {"metadata", run.metadata}}, ttl);
      }
    }
    for (auto& d : passing) docs.push_back(std::move(d));
    if (post) {
      std::vector<Json> kept;
      for (auto& d : docs) {
        if (filter::Matches(*post, d)) kept.push_back(std::move(d));
      }
      docs = std::move(kept);
    }
    Json outputs = run.outputs;
    outputs["count"] = docs.size();
    if (!outputs.contains("top_score")) outputs["top_score"] = docs.empty() ? Json(nullptr) : Json(ScoreOf(docs.front()));
    stage_outputs[name] = outputs;
    const double ms = MillisSince(t0);
    stats[name] = {{"stage_id", def->id},
                   {"input_count", input_count},
                   {"output_count", docs.size()},
                   {"duration_ms", ms},
                   {"efficiency", input_count > 0 ? static_cast<double>(docs.size()) / static_cast<double>(input_count)
                                                  : 1.0},
                   {"cache_hit", cache_hit},
                   {"error", st.ok() ? Json(nullptr) : Json(st.message())},
                   {"llm_calls", 0},
                   {"tokens_used", 0},
                   {"metadata", run.metadata}};
  }
  Json page_info;
  ASSIGN_OR_RETURN(auto page, Paginate(std::move(docs), req.pagination, page_info));
  const double total_ms = MillisSince(started);
  Json out = {{"execution_id", NewId("exec_")},
              {"retriever_id", req.retriever_id.empty() ? Json(nullptr) : Json(req.retriever_id)},
              {"status", "completed"},
              {"documents", page},
              {"pagination", page_info},
              {"stage_statistics", {{"stages", stats}, {"total_time_ms", total_ms}, {"credits_used", 0}}},
              {"budget", {{"credits_used", 0},
                          {"credits_remaining", limits.value("max_credits", Json(nullptr))},
                          {"time_used_ms", total_ms},
                          {"limits", limits}}},
              {"error", nullptr},
              {"optimization_applied", !optimization["rules_applied"].empty()},
              {"optimization_summary", optimization},
              {"created_at", created_at},
              {"completed_at", NowIso8601()},
              {"current_stage", nullptr},
              {"stages_completed", stages.size()},
              {"total_stages", stages.size()}};
  return out;
}

Result<Json> Explain(RetrieveContext& ctx, const ExecuteRequest& req) {
  ASSIGN_OR_RETURN(auto indexed, IndexedFields(ctx));
  Json optimization;
  const Json stages = Optimize(req.stages, indexed, optimization);
  int64_t corpus = 0;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    for (const auto& id : req.collection_ids) {
      auto col = catalog::LoadCollection(r, ctx.scope, id);
      if (!col.ok()) return Status::Invalid("collection_identifiers", col.status().message(), "not_found");
      ASSIGN_OR_RETURN(int64_t n, r.Count(storage::Kind::kDocument, ctx.scope, col->id));
      corpus += n;
    }
    return Status::Ok();
  }));
  Json plan = Json::array();
  double input = 0, total_ms = 0;
  Json bottlenecks = Json::array();
  double worst = -1;
  for (size_t i = 0; i < stages.size(); ++i) {
    const Json& s = stages[i];
    const std::string id = s["config"]["stage_id"];
    const Json& p = s["config"]["parameters"];
    double output = input, ms = 0.05 + input * 0.001;
    Json notes = Json::array(), warnings = Json::array();
    if (id == "feature_search") {
      const double k = p.contains("final_top_k") && p["final_top_k"].is_number() ? p["final_top_k"].get<double>() : 25;
      output = std::min<double>(k, static_cast<double>(corpus));
      const size_t n = p.contains("searches") && p["searches"].is_array() ? p["searches"].size() : 0;
      ms = 1.0 + 2.0 * static_cast<double>(n);
      if (s["config"].contains("pre_filters")) notes.push_back("pre_filters restrict the search before ranking");
      if (n > 1) notes.push_back("fuses " + std::to_string(n) + " searches");
    } else if (id == "limit") {
      output = std::min<double>(input, p.contains("limit") && p["limit"].is_number() ? p["limit"].get<double>() : 10);
    } else if (id == "attribute_filter") {
      output = input * 0.5;
      notes.push_back("estimated selectivity 50%");
    } else if (id == "rerank") {
      ms = 0.05 + input * 0.02;
    }
    if (corpus == 0) warnings.push_back("the retriever's collections hold no documents");
    if (ms > worst) {
      worst = ms;
      bottlenecks = Json::array({s["stage_name"]});
    }
    total_ms += ms;
    plan.push_back({{"stage_index", i}, {"stage_name", s["stage_name"]}, {"stage_type", s["stage_type"]},
                    {"stage_id", id}, {"estimated_input", static_cast<int64_t>(input)},
                    {"estimated_output", static_cast<int64_t>(output)},
                    {"estimated_efficiency", input > 0 ? output / input : 1.0}, {"estimated_cost_credits", 0},
                    {"estimated_duration_ms", ms}, {"cache_likely", id == "feature_search"},
                    {"optimization_notes", notes}, {"warnings", warnings}});
    input = output;
  }
  Json suggestions = Json::array();
  for (size_t i = 0; i + 1 < stages.size(); ++i) {
    if (stages[i]["config"]["stage_id"] == "feature_search" && stages[i + 1]["config"]["stage_id"] == "attribute_filter") {
      suggestions.push_back("index the fields of stage '" + stages[i + 1]["stage_name"].get<std::string>() +
                            "' (namespace payload_indexes) so the optimizer can push its filter into the search");
    }
  }
  return Json{{"retriever_id", req.retriever_id.empty() ? Json(nullptr) : Json(req.retriever_id)},
              {"estimated_cost", {{"total_credits", 0}, {"total_duration_ms", total_ms}}},
              {"execution_plan", plan},
              {"bottleneck_stages", bottlenecks},
              {"optimization_suggestions", suggestions},
              {"optimization_applied", !optimization["rules_applied"].empty()},
              {"optimization_details", optimization}};
}

}  // namespace strata::retrieve
