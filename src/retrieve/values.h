// Ordering and identity of JSON values inside pipelines (sorts, grouping,
// de-duplication).
#pragma once

#include <string>

#include "core/json_util.h"

namespace strata::retrieve {

// A total order: null < booleans < numbers (by value) < strings (bytewise) <
// arrays < objects (by their serialisation). Returns <0, 0 or >0.
int CompareValues(const Json& a, const Json& b);

// A field of a pipeline document by dotted path; lineage names
// (source_object_id, root_object_id, …) also resolve into _internal.lineage,
// where the engine keeps them. Null when absent.
const Json* DocField(const Json& doc, const std::string& path);

// A key for grouping by a value: equal values give equal keys ("" for missing).
std::string GroupKey(const Json* value);

}  // namespace strata::retrieve
