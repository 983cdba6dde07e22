// Sort stages: by score, by a field, score normalisation, diversity (MMR) and
// rerank (a cross-encoder model, or the lexical re-scorer).
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "extract/models/model_registry.h"
#include "extract/registry.h"
#include "filter/filter.h"
#include "retrieve/stage.h"
#include "retrieve/values.h"

namespace strata::retrieve {

namespace {

// A stable sort of `docs` by the value at `field` (missing values last or
// first), direction "asc" or "desc".
void SortBy(std::vector<Json>& docs, const std::string& field, const std::string& direction, bool missing_last) {
  const bool desc = direction == "desc";
  std::stable_sort(docs.begin(), docs.end(), [&](const Json& a, const Json& b) {
    const Json* va = FindPath(a, field);
    const Json* vb = FindPath(b, field);
    const bool na = va == nullptr || va->is_null(), nb = vb == nullptr || vb->is_null();
    if (na || nb) return na != nb && (missing_last ? nb : na);
    const int c = CompareValues(*va, *vb);
    return desc ? c > 0 : c < 0;
  });
}

Status SortRelevance(StageRun& run, std::vector<Json>& docs) {
  const Json& p = run.params;
  SortBy(docs, p["score_field"], p["direction"], p["missing_score"] == "bottom");
  return Status::Ok();
}

Status SortAttribute(StageRun& run, std::vector<Json>& docs) {
  const Json& p = run.params;
  if (!p["field"].is_string() || p["field"].get<std::string>().empty()) {
    return Status::Invalid(run.loc + ".parameters.field", "sort_attribute needs the field to sort by", "missing");
  }
  SortBy(docs, p["field"], p["direction"], p["nulls_last"].get<bool>());
  return Status::Ok();
}

Status ScoreNormalize(StageRun& run, std::vector<Json>& docs) {
  const Json& p = run.params;
  const std::string field = p["score_field"], method = p["method"];
  const std::string out = p["output_field"].is_string() ? p["output_field"].get<std::string>() : field;
  std::vector<double> s;
  for (const auto& d : docs) {
    const Json* v = FindPath(d, field);
    s.push_back(v != nullptr && v->is_number() ? v->get<double>() : 0.0);
  }
  if (s.empty()) return Status::Ok();
  const double lo = *std::min_element(s.begin(), s.end()), hi = *std::max_element(s.begin(), s.end());
  double mean = 0, sq = 0, norm = 0, expsum = 0;
  for (double x : s) mean += x;
  mean /= static_cast<double>(s.size());
  for (double x : s) {
    sq += (x - mean) * (x - mean);
    norm += x * x;
    expsum += std::exp(x - hi);
  }
  const double sd = std::sqrt(sq / static_cast<double>(s.size()));
  norm = std::sqrt(norm);
  const double min_v = p["min_value"], max_v = p["max_value"];
  for (size_t i = 0; i < docs.size(); ++i) {
    double v = s[i];
    if (method == "min_max") v = hi > lo ? min_v + (s[i] - lo) / (hi - lo) * (max_v - min_v) : max_v;
    else if (method == "z_score") v = sd > 0 ? (s[i] - mean) / sd : 0.0;
    else if (method == "softmax") v = std::exp(s[i] - hi) / expsum;
    else if (method == "l2") v = norm > 0 ? s[i] / norm : 0.0;
    SetPath(docs[i], out, v);
  }
  return Status::Ok();
}

// Tokens of a field's text, for MMR over fields and the lexical re-scorer.
std::vector<std::string> FieldTokens(const Json& doc, const std::string& field) {
  const Json* v = FindPath(doc, field);
  if (v == nullptr || v->is_null()) return {};
  return filter::TextTokens(v->is_string() ? v->get<std::string>() : v->dump());
}

double Jaccard(const std::set<std::string>& a, const std::set<std::string>& b) {
  if (a.empty() && b.empty()) return 0;
  size_t inter = 0;
  for (const auto& t : a) inter += b.count(t);
  return static_cast<double>(inter) / static_cast<double>(a.size() + b.size() - inter);
}

// Maximal marginal relevance over the documents' field tokens: each pick
// maximises lambda * relevance - (1 - lambda) * max similarity to the picks.
Status Mmr(StageRun& run, std::vector<Json>& docs) {
  const Json& p = run.params;
  const double lambda = p["lambda"];
  const size_t k = std::min(docs.size(), static_cast<size_t>(p["top_k"].get<int64_t>()));
  std::vector<std::string> fields = p["diversity_fields"].get<std::vector<std::string>>();
  if (fields.empty()) {
    return Status::Invalid(run.loc + ".parameters.diversity_fields",
                           "mmr needs diversity_fields (the fields whose text similarity it penalises)", "missing");
  }
  const std::string score_field = p["score_field"];
  std::vector<std::set<std::string>> toks(docs.size());
  std::vector<double> rel(docs.size());
  double hi = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    for (const auto& f : fields) {
      for (auto& t : FieldTokens(docs[i], f)) toks[i].insert(std::move(t));
    }
    const Json* s = FindPath(docs[i], score_field);
    rel[i] = s != nullptr && s->is_number() ? s->get<double>() : 0.0;
    hi = std::max(hi, std::abs(rel[i]));
  }
  if (hi > 0) for (auto& r : rel) r /= hi;  // relevance and similarity on one scale
  std::vector<size_t> picked;
  std::vector<bool> used(docs.size(), false);
  std::vector<double> max_sim(docs.size(), 0.0);
  std::vector<Json> out;
  while (picked.size() < k) {
    size_t best = docs.size();
    double best_v = -1e300;
    for (size_t i = 0; i < docs.size(); ++i) {
      if (used[i]) continue;
      const double v = lambda * rel[i] - (1 - lambda) * max_sim[i];
      if (v > best_v) best_v = v, best = i;
    }
    used[best] = true;
    picked.push_back(best);
    SetPath(docs[best], p["mmr_score_field"].get<std::string>(), best_v);
    for (size_t i = 0; i < docs.size(); ++i) {
      if (!used[i]) max_sim[i] = std::max(max_sim[i], Jaccard(toks[i], toks[best]));
    }
  }
  for (size_t i : picked) out.push_back(std::move(docs[i]));
  docs = std::move(out);
  return Status::Ok();
}

// The text rerank scores of a document: document_field's value (other JSON
// values serialised, null or missing as ""), cut to max_document_chars bytes.
std::string RerankText(const Json& doc, const std::string& field, size_t max_chars) {
  const Json* v = FindPath(doc, field);
  std::string text = v == nullptr || v->is_null() ? "" : v->is_string() ? v->get<std::string>() : v->dump();
  if (text.size() > max_chars) text.resize(max_chars);
  return text;
}

// The lexical re-scorer: BM25 of the query against `document_field` within
// the candidates (k1 = 1.2, b = 0.75, statistics from the candidates).
void LexicalScores(const Json& p, const std::string& query, std::vector<Json>& docs) {
  const auto qtok = filter::TextTokens(query);
  const size_t max_chars = p["max_document_chars"];
  std::vector<std::vector<std::string>> dt(docs.size());
  std::map<std::string, int> df;
  double avg = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    dt[i] = filter::TextTokens(RerankText(docs[i], p["document_field"].get<std::string>(), max_chars));
    avg += static_cast<double>(dt[i].size());
    std::set<std::string> seen(dt[i].begin(), dt[i].end());
    for (const auto& t : seen) ++df[t];
  }
  if (!docs.empty()) avg /= static_cast<double>(docs.size());
  const double n = static_cast<double>(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    std::map<std::string, int> tf;
    for (const auto& t : dt[i]) ++tf[t];
    double score = 0;
    for (const auto& q : qtok) {
      auto it = tf.find(q);
      if (it == tf.end()) continue;
      const double idf = std::log(1 + (n - df[q] + 0.5) / (df[q] + 0.5));
      const double f = it->second;
      score += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * static_cast<double>(dt[i].size()) / std::max(avg, 1.0)));
    }
    SetPath(docs[i], p["score_field"].get<std::string>(), score);
  }
}

// The cross-encoder `model` of the server's models directory scores each
// (query, document text) pair, batch_size documents per call.
Status CrossEncoderScores(StageRun& run, const std::string& model, const std::string& query,
                          std::vector<Json>& docs) {
  const Json& p = run.params;
  auto encoder = run.ctx.extractors.models().GetCrossEncoder(model);
  if (!encoder.ok()) {
    const Status& st = encoder.status();
    if (st.code() == StatusCode::kNotFound || st.code() == StatusCode::kValidation) {
      // The location names the parameter (and leads the message).
      return Status::Invalid(run.loc + ".parameters.inference_name", st.message(), "value_error");
    }
    return Status(st.code(), "inference_name '" + model + "': " + st.message());
  }
  const size_t max_chars = p["max_document_chars"];
  const std::string field = p["document_field"];
  const int64_t batch_param = p["batch_size"].is_number_integer() ? p["batch_size"].get<int64_t>() : 32;
  const size_t batch = static_cast<size_t>(batch_param >= 1 ? batch_param : 32);
  for (size_t start = 0; start < docs.size(); start += batch) {
    RETURN_IF_ERROR(run.CheckDeadline());
    const size_t end = std::min(docs.size(), start + batch);
    std::vector<std::string> texts;
    for (size_t i = start; i < end; ++i) texts.push_back(RerankText(docs[i], field, max_chars));
    Result<std::vector<float>> scores = (*encoder)->Score(query, texts);
    if (!scores.ok()) {
      return Status(scores.status().code(),
                    "inference_name '" + model + "': scoring failed: " + scores.status().message());
    }
    for (size_t i = start; i < end; ++i) {
      SetPath(docs[i], p["score_field"].get<std::string>(), static_cast<double>((*scores)[i - start]));
    }
  }
  return Status::Ok();
}

// Re-scores the documents against the query, with the lexical re-scorer
// (inference_name null, "lexical" or "bm25") or a cross-encoder model, then
// sorts them by the new score and keeps top_k.
Status Rerank(StageRun& run, std::vector<Json>& docs) {
  const Json& p = run.params;
  const std::string model = p["inference_name"].is_string() ? p["inference_name"].get<std::string>() : "";
  const std::string query = p["query"].is_string() ? p["query"].get<std::string>() : "";
  if (query.empty()) return Status::Invalid(run.loc + ".parameters.query", "rerank needs a query", "missing");
  if (model.empty() || model == "lexical" || model == "bm25") {
    LexicalScores(p, query, docs);
  } else {
    RETURN_IF_ERROR(CrossEncoderScores(run, model, query, docs));
  }
  SortBy(docs, p["score_field"], "desc", true);
  if (p["top_k"].is_number_integer() && static_cast<size_t>(p["top_k"].get<int64_t>()) < docs.size()) {
    docs.resize(static_cast<size_t>(p["top_k"].get<int64_t>()));
  }
  return Status::Ok();
}

}  // namespace

void AddSortStages(std::vector<StageDef>& out) {
  const Json direction = {{"type", "string"}, {"enum", {"asc", "desc"}}, {"default", "desc"}};
  out.push_back({"sort_relevance", "sort", "Orders documents by their score (or another score field).", "sort",
                 ParamsSchema({{"score_field", {{"type", "string"}, {"default", "score"}}},
                         {"direction", direction},
                         {"feature_address", {{"type", {"string", "null"}}, {"default", nullptr}}},
                         {"missing_score", {{"type", "string"}, {"enum", {"bottom", "top"}}, {"default", "bottom"}}}}),
                 SortRelevance});
  out.push_back({"sort_attribute", "sort", "Orders documents by a field's value.", "sort",
                 ParamsSchema({{"field", {{"type", "string"}, {"default", ""}}},
                         {"direction", direction},
                         {"nulls_last", {{"type", "boolean"}, {"default", true}}}}),
                 SortAttribute});
  out.push_back({"score_normalize", "sort", "Rescales scores: min_max, z_score, softmax or l2.", "sort",
                 ParamsSchema({{"method", {{"type", "string"}, {"enum", {"min_max", "z_score", "softmax", "l2"}},
                                     {"default", "min_max"}}},
                         {"score_field", {{"type", "string"}, {"default", "score"}}},
                         {"output_field", {{"type", {"string", "null"}}, {"default", nullptr}}},
                         {"min_value", {{"type", "number"}, {"default", 0.0}}},
                         {"max_value", {{"type", "number"}, {"default", 1.0}}}}),
                 ScoreNormalize});
  out.push_back({"mmr", "sort",
                 "Maximal marginal relevance: trades relevance against similarity to documents already picked.",
                 "shuffle",
                 ParamsSchema({{"lambda", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}, {"default", 0.7}}},
                         {"top_k", {{"type", "integer"}, {"minimum", 1}, {"default", 25}}},
                         {"diversity_fields", {{"type", "array"}, {"default", Json::array()}}},
                         {"score_field", {{"type", "string"}, {"default", "score"}}},
                         {"mmr_score_field", {{"type", "string"}, {"default", "scores.mmr"}}}}),
                 Mmr});
  out.push_back({"rerank", "sort",
                 "Re-scores documents against the query, then sorts them by the new score: with a "
                 "cross-encoder model of the server (inference_name) scoring each (query, document_field) "
                 "pair, or BM25 over document_field within the candidates (inference_name null, \"lexical\" "
                 "or \"bm25\").",
                 "arrow-up-down",
                 ParamsSchema({{"inference_name", {{"type", {"string", "null"}}, {"default", nullptr},
                                                  {"description", "a cross-encoder model of the server (a "
                                                                  "models-directory folder whose config.json "
                                                                  "has \"task\": \"cross_encoder\"); null, "
                                                                  "\"lexical\" or \"bm25\": BM25 over the "
                                                                  "candidates"}}},
                         {"query", {{"type", {"string", "null"}}, {"default", "{{INPUT.query}}"}}},
                         {"document_field", {{"type", "string"}, {"default", "chunk_text"}}},
                         {"top_k", {{"type", {"integer", "null"}}, {"default", nullptr}}},
                         {"score_field", {{"type", "string"}, {"default", "score"}}},
                         {"batch_size", {{"type", "integer"}, {"default", 32},
                                         {"description", "documents per cross-encoder call (the model's "
                                                         "config.json batch_size caps each model run)"}}},
                         {"max_document_chars", {{"type", "integer"}, {"minimum", 1}, {"default", 2000}}}}),
                 Rerank});
}

}  // namespace strata::retrieve
