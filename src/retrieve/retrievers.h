// Retrievers as resources: create, read, list, update, delete and clone a
// stored pipeline; execute it (with the response cache and ETags), explain
// it, and keep a record of its executions. Ad-hoc pipelines run through the
// same code without being stored.
#pragma once

#include <string>

#include "catalog/list_request.h"
#include "core/json_util.h"
#include "core/status.h"
#include "retrieve/pipeline.h"
#include "retrieve/result_cache.h"
#include "retrieve/stage.h"

namespace strata::retrieve {

// The caches of one server: whole responses, and feature_search outputs.
struct RetrieveCaches {
  ResultCache responses{size_t{64} << 20};
  ResultCache stages{size_t{64} << 20};
};

struct RetrieverContext {
  RetrieveContext& ctx;
  RetrieveCaches& caches;
  std::string principal;  // created_by / updated_by
};

Result<Json> CreateRetriever(RetrieverContext& rc, const Json& body);
Result<Json> GetRetriever(RetrieverContext& rc, const std::string& id_or_name);
Result<Json> ListRetrievers(RetrieverContext& rc, const Json& body, const catalog::QueryParams& params);
Result<Json> PatchRetriever(RetrieverContext& rc, const std::string& id_or_name, const Json& body);
Result<Json> DeleteRetriever(RetrieverContext& rc, const std::string& id_or_name);
Result<Json> CloneRetriever(RetrieverContext& rc, const std::string& id_or_name, const Json& body);

struct ExecuteOptions {
  std::string if_none_match;  // the request's If-None-Match header
  bool return_vectors = false;
};
struct ExecuteAnswer {
  Json body;
  std::string etag;         // quoted, for the ETag header
  bool cache_hit = false;   // X-Cache
  bool not_modified = false;  // answer 304 without a body
};
Result<ExecuteAnswer> ExecuteRetriever(RetrieverContext& rc, const std::string& id_or_name, const Json& body,
                                       const ExecuteOptions& options);
Result<ExecuteAnswer> ExecuteAdhoc(RetrieverContext& rc, const Json& body, const ExecuteOptions& options);
Result<Json> ExplainRetriever(RetrieverContext& rc, const std::string& id_or_name, const Json& body);

Result<Json> ListExecutions(RetrieverContext& rc, const std::string& id_or_name, const Json& body,
                            const catalog::QueryParams& params);
Result<Json> GetExecution(RetrieverContext& rc, const std::string& id_or_name, const std::string& execution_id);

// GET /v1/retrievers/stages: [{stage_id, description, category, icon, parameter_schema}].
Result<Json> StageRegistry(const std::string& category);

}  // namespace strata::retrieve
