// The aggregation pattern shared by every `POST …/aggregate` endpoint (objects
// of a bucket, documents of a collection): the request
//   {group_by*: [{field, alias} | "field"], aggregations*: [{function, field, alias, distinct_field}],
//    filters, having: [{field, operator, value}], sort_by, sort_direction, limit}
// and the response {results: [{group, metrics}], total_groups, query_info}.
//
// Functions: count, count_distinct, sum, avg, min, max (run by
// Reader::Aggregate). `having` filters groups on a metric or group alias
// (gt, gte, lt, lte, eq, ne); `sort_by` orders by a metric or group alias.
// What the store cannot compute (first, last, push, add_to_set, date_trunc,
// date_part, unwind, range_buckets) is a 422 naming the feature.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json_util.h"
#include "filter/filter.h"
#include "storage/metadata_store.h"

namespace strata::catalog {

struct AggregateRequest {
  storage::AggregateSpec spec;  // spec.filter points into `filter`; spec.parent is the caller's
  std::optional<filter::Node> filter;
  std::vector<std::string> group_alias;  // one per spec.group_by
  struct Having {
    std::string field;  // a metric or group alias
    std::string op;     // gt|gte|lt|lte|eq|ne
    Json value;
  };
  std::vector<Having> having;
  std::string sort_by;      // "" = the store's order (first metric, descending)
  bool sort_desc = true;
  int64_t limit = 1000;     // applied after having and sorting

  AggregateRequest() = default;
  AggregateRequest(const AggregateRequest&) = delete;  // spec.filter points into this object
  AggregateRequest(AggregateRequest&& o) noexcept { *this = std::move(o); }
  AggregateRequest& operator=(AggregateRequest&& o) noexcept;
};

Result<AggregateRequest> ParseAggregateRequest(const Json& body);

// Applies having, sort and limit to the store's rows and builds the response.
// `query_info` is merged into the response's query_info.
Json AggregateResponse(const AggregateRequest& req, const std::vector<storage::AggregateRow>& rows,
                       const Json& query_info = Json::object());

}  // namespace strata::catalog
