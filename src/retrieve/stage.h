// Retriever stages: what each one is (its id, category and parameter schema,
// served by GET /v1/retrievers/stages) and what it does to the documents that
// flow through a pipeline.
//
// A pipeline is a list of stages run in order over one list of documents (the
// API's document shape plus "score"). A stage may replace the list (a search),
// shrink it (filters, limit), reorder it (sorts) or change documents (apply,
// enrich). Parameters arrive rendered (templates resolved) and completed with
// the schema's defaults.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"
#include "filter/filter.h"
#include "storage/metadata_store.h"

namespace strata::extract {
class ExtractorRegistry;
}

namespace strata::retrieve {

struct VectorHit {
  std::string doc_id;
  double score = 0;  // similarity, higher is better
};

// Nearest-neighbour search over one vector of a collection's documents. The
// server implements it over its vector indexes (index/); `allowed`, when set,
// restricts the answer to those documents (a pre-filter).
class VectorSearcher {
 public:
  virtual ~VectorSearcher() = default;
  virtual Result<std::vector<VectorHit>> Search(const std::string& collection_id, const std::string& vector_name,
                                                const std::string& distance, const std::vector<float>& query, int k,
                                                const std::vector<std::string>* allowed) = 0;
};

// What a pipeline may read: the namespace's store, the extractors (queries are
// embedded the way ingestion embeds documents) and the vector indexes.
struct RetrieveContext {
  storage::MetadataStore& store;
  storage::Scope scope;
  const extract::ExtractorRegistry& extractors;
  VectorSearcher& vectors;
};

// One stage's run: its rendered parameters and what it reports.
struct StageRun {
  StageRun(RetrieveContext& c, std::string stage_name, std::string location)
      : ctx(c), name(std::move(stage_name)), loc(std::move(location)) {}

  RetrieveContext& ctx;
  std::string name;              // stage_name
  std::string loc;               // "stages[2]" for errors
  Json params;                   // rendered, defaults filled in
  const filter::Node* pre_filter = nullptr;
  const Json* pre_filter_json = nullptr;  // the same, as written (rendered)
  const Json* inputs = nullptr;  // the execution's inputs
  const std::vector<std::string>* collection_ids = nullptr;  // the retriever's collections
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Renders a per-document parameter (StageDef::per_document) with DOC bound
  // to `doc`; the parameter's template is compiled once per stage run.
  std::function<Result<Json>(const std::string& param, const Json& doc)> render_for_doc;
  Json metadata = Json::object();  // stage_statistics.stages[name].metadata
  Json outputs = Json::object();   // what later stages read as STAGE.<name>.*

  // Internal (a bug) when the pipeline ran out of its time budget.
  Status CheckDeadline() const;
};

using StageFn = std::function<Status(StageRun& run, std::vector<Json>& docs)>;

struct StageDef {
  std::string id;        // "feature_search"
  std::string category;  // filter | sort | reduce | apply | enrich
  std::string description;
  std::string icon;
  Json parameter_schema;  // JSON Schema (type object) with defaults
  StageFn run;
  // Parameters rendered once per document (DOC bound) instead of once per
  // stage; they reach the stage unrendered in params.
  std::vector<std::string> per_document = {};
};

// Every stage this server runs, in the order GET /v1/retrievers/stages lists them.
const std::vector<StageDef>& AllStages();
const StageDef* FindStage(const std::string& id);

// The score of a document in a pipeline ("score", 0 when absent).
double ScoreOf(const Json& doc);

// A stage's parameter schema: an object of these properties and no others.
Json ParamsSchema(Json properties);

// Stage definitions, one function per family (stages_*.cc).
void AddSearchStages(std::vector<StageDef>& out);
void AddFilterStages(std::vector<StageDef>& out);
void AddSortStages(std::vector<StageDef>& out);
void AddReduceStages(std::vector<StageDef>& out);
void AddApplyStages(std::vector<StageDef>& out);

}  // namespace strata::retrieve
