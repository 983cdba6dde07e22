// The list pattern shared by every `POST …/list` endpoint: a body of
// {filters, sort, search, select} and query parameters limit, offset, cursor,
// include_total; the response's `pagination` block.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json_util.h"
#include "filter/filter.h"
#include "storage/metadata_store.h"

namespace strata::catalog {

using QueryParams = std::map<std::string, std::string>;

struct ListRequest {
  storage::ListQuery query;          // query.filter points into `filter`
  std::optional<filter::Node> filter;
  std::vector<std::string> select;   // dotted paths; empty = everything

  ListRequest() = default;
  ListRequest(const ListRequest&) = delete;  // query.filter points into this object
  ListRequest(ListRequest&& o) noexcept { *this = std::move(o); }
  ListRequest& operator=(ListRequest&& o) noexcept;
};

// `allowed_body_keys` are body fields a particular endpoint accepts beyond the
// common ones (e.g. "return_presigned_urls" for uploads); other keys are 422.
Result<ListRequest> ParseListRequest(const Json& body, const QueryParams& params,
                                     const std::vector<std::string>& allowed_body_keys = {});

Json PaginationJson(const storage::ListPage& page, const storage::ListQuery& query);

// Runs a parsed list request inside one read: `prepare` may narrow the query
// (e.g. to a bucket resolved in the same read), `present` turns each stored
// document into the API's shape. Returns {results, pagination}.
struct ListSpec {
  storage::Kind kind;
  storage::Scope scope;
  std::vector<std::string> id_fields;  // always kept by `select`
  std::function<Status(storage::Reader&, storage::ListQuery&)> prepare;
  std::function<Result<Json>(storage::Reader&, Json)> present;
};
Result<Json> RunList(storage::MetadataStore& store, const ListSpec& spec, ListRequest& req);

// Applies `select` to one result (always keeping the id fields named).
Json ApplySelect(const Json& doc, const std::vector<std::string>& select,
                 const std::vector<std::string>& id_fields);

}  // namespace strata::catalog
