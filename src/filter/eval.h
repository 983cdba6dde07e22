// In-memory evaluation of a parsed filter, with the semantics documented in
// filter/filter.h. Used where SQL cannot decide (`text`, see
// storage/filter_sql.h) and for documents that are not in a table.
#pragma once

#include "core/json_util.h"
#include "filter/filter.h"

namespace strata::filter {

bool Matches(const Node& filter, const Json& doc);

}  // namespace strata::filter
