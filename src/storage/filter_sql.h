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
// payload_values holds, for each such path, the elements of every value the
// path reaches in a document, arrays of objects included (PayloadValuesSql).
struct PayloadIndexes {
  std::set<std::string> paths;
  std::string rowid_column = "seq";
};

// `doc_column` is an SQL expression naming the JSON TEXT column, e.g. "o.doc";
// it is spliced verbatim, so it must come from code, never from a request.
// With `indexes`, comparisons (eq, ne, in, nin, gt, gte, lt, lte) on an
// indexed field read payload_values instead of the document, whether or not
// the path steps through arrays of objects.
// Needs RegisterFilterFunctions on the connection (for `regex`).
SqlFragment CompileFilter(const filter::Node& filter, std::string_view doc_column,
                          const PayloadIndexes* indexes = nullptr);

// The quoted JSON path of a dotted field ("a.b" -> $."a"."b"), as the
// compiler and payload_values use it; empty when it cannot be quoted.
std::string JsonPathOf(std::string_view field);

// The segments of such a JSON path as one-segment JSON paths, in order
// ($."a"."b" -> ["$.\"a\"", "$.\"b\""]): payload_fields.steps, which
// PayloadValuesSql walks.
Json JsonPathSteps(std::string_view json_path);

// A SELECT of the payload_values rows (doc, path, type, value, folded) of the
// rows of `sources`, a SELECT of columns named doc (the document's seq), path
// (an indexed JSON path), steps (JsonPathSteps of it) and json (the
// document): for each value the path reaches (filter.h: through arrays of
// objects, as filter::Matches walks), the rows json_each gives for it (the
// elements of an array, a scalar itself; an object's members are left out,
// objects never compare), typed as json_each types them, with `folded` the
// ASCII-lowercased text. CompileFilter's index lookups are exact only for
// exactly these rows. The payload_values triggers of migration 8 are made
// from this text: changing it needs a migration that recreates them and
// refills payload_values.
std::string PayloadValuesSql(std::string_view sources);

// Binds a JSON scalar: null → NULL, boolean → 1/0, integers → int64 (above
// INT64_MAX → double, as SQLite's JSON1 reads them), floats → double,
// strings → TEXT; arrays and objects → their JSON text.
Status BindJson(sqlite3_stmt* stmt, int index, const Json& value);

// Registers strata_regexp(pattern, value, case_sensitive) on `db`: 1 when the
// TEXT `value` matches the POSIX extended `pattern` (filter/regex.h's cache),
// 0 for any other value.
Status RegisterFilterFunctions(sqlite3* db);

}  // namespace strata::storage
