// Compiles a parsed filter (filter/filter.h) to an SQLite WHERE fragment over
// a TEXT column holding each document as JSON, with the same semantics as the
// in-memory evaluator (filter/eval.h).
//
// What SQL cannot decide exactly (today: the `text` operator, and field paths
// that cannot be written as a quoted JSON path) is replaced by a SUPERSET
// predicate and the fragment is marked inexact: the caller must then run
// filter::Matches on every row the SQL returns. The replacement depends on
// polarity: `1` where the subtree counts positively, `0` under an odd number
// of NOTs (NOT of an under-approximation is an over-approximation), so the
// rest of the filter still narrows the rows in SQL.
//
// Documents must be stored as nlohmann's default dump() (UTF-8, not \u-escaped
// keys): SQLite 3.40 matches JSON path keys against the raw key text.
#pragma once

#include <sqlite3.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"
#include "filter/filter.h"

namespace strata::storage {

struct SqlFragment {
  std::string sql;           // a parenthesized boolean expression, never NULL-valued
  std::vector<Json> params;  // bind in order to the fragment's '?'s (BindJson)
  bool exact = true;         // false: re-check rows with filter::Matches
};

// Fields with a payload index (documents only): their JSON paths (as
// JsonPathOf writes them) and the column holding the row's seq.
struct PayloadIndexes {
  std::set<std::string> paths;
  std::string rowid_column = "seq";
};

// `doc_column` is an SQL expression naming the JSON TEXT column, e.g. "o.doc";
// it is spliced verbatim, so it must come from code, never from a request.
// With `indexes`, comparisons (eq, ne, in, nin, gt, gte, lt, lte) on an
// indexed field read payload_values instead of the document.
// Needs RegisterFilterFunctions on the connection (for `regex`).
SqlFragment CompileFilter(const filter::Node& filter, std::string_view doc_column,
                          const PayloadIndexes* indexes = nullptr);

// The quoted JSON path of a dotted field ("a.b" -> $."a"."b"), as the
// compiler and payload_values use it; empty when it cannot be quoted.
std::string JsonPathOf(std::string_view field);

// Binds a JSON scalar: null → NULL, boolean → 1/0, integers → int64 (above
// INT64_MAX → double, as SQLite's JSON1 reads them), floats → double,
// strings → TEXT; arrays and objects → their JSON text.
Status BindJson(sqlite3_stmt* stmt, int index, const Json& value);

// Registers strata_regexp(pattern, value, case_sensitive) on `db`: 1 when the
// TEXT `value` matches the POSIX extended `pattern` (filter/regex.h's cache),
// 0 for any other value.
Status RegisterFilterFunctions(sqlite3* db);

}  // namespace strata::storage
