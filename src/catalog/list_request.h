// The list pattern shared by every `POST …/list` endpoint: a body of
// {filters, sort, search, select} and query parameters limit, offset, cursor,
// include_total; the response's `pagination` block.
#pragma once

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

// Applies `select` to one result (always keeping the id fields named).
Json ApplySelect(const Json& doc, const std::vector<std::string>& select,
                 const std::vector<std::string>& id_fields);

}  // namespace strata::catalog
