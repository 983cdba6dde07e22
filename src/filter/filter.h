// The filter language of the API (Mixpeek v0.81 `LogicalOperator`): parsed
// once into a small AST, then either compiled to SQL (storage/filter_sql.h) or
// evaluated in memory (filter/eval.h). Both back ends implement exactly the
// semantics below; storage/filter_sql_test.cc checks that they agree on random
// documents and filters.
//
// Syntax
//   {"AND": [...], "OR": [...], "NOT": [...], "case_sensitive": bool,
//    "<field>": <value>, ...}
//   List items are nested logical objects or conditions
//   {"field": "a.b", "operator": "eq", "value": ...} ("operator" defaults to
//   eq). Any object with a "field" key is a condition, at the top level too; to
//   filter on a document field literally named "field", use that form. Other
//   keys of a logical object are shorthand equality: {"year": 2024} is
//   {"field": "year", "operator": "eq", "value": 2024}. Everything in one
//   object is combined with AND. NOT[a, b] means !a && !b. An empty or null
//   list imposes no constraint (so does `{}` or a null filter): clients that
//   always send "OR": [] mean "no OR clause", not "match nothing".
//   `case_sensitive` (default false) applies to the whole subtree below the
//   object that sets it; nested objects and conditions may override it.
//
// Values
//   - Field paths are dotted; a step that is missing or neither an object nor
//     an array makes the field missing. Segments must be non-empty and free
//     of '"', '\' and control characters (they become quoted SQLite JSON path
//     keys).
//   - Arrays of objects (MongoDB/Elasticsearch style): when a step reaches an
//     array and segments are left, the walk continues in each element that
//     is an object; other elements (scalars, nested arrays) contribute
//     nothing. This repeats at every level, so "frames.objects.label" steps
//     through two arrays. A path may therefore reach several values; a path
//     through plain objects reaches one, as it always did. The document
//     itself is an object and never fans out.
//   - A condition matches when ANY reached value matches under the rules
//     below (so separate conditions on "objects.label" and "objects.score"
//     may be met by different objects). exists: at least one value is
//     reached (null counts); is_null: some reached value is null.
//   - Numbers compare numerically and exactly (1 == 1.0; integers beyond
//     int64 behave as doubles, as in SQLite). Booleans equal only booleans
//     (true != 1), null equals only null. Values of different kinds are never
//     equal and never ordered. An object field equals and orders with nothing
//     (so only ne, nin, exists and is_null can accept it).
//   - eq/ne/in/nin/contains/starts_with/ends_with/regex fold ASCII case unless
//     case_sensitive (ASCII only, like SQLite's lower()). gt/gte/lt/lte compare
//     strings bytewise, never folded.
//   - When the field holds an array, eq/in/gt/gte/lt/lte/starts_with/
//     ends_with/regex match when ANY element matches (one level; nested arrays
//     are elements of kind array and match nothing). `contains` on an array
//     means some element equals the value; on a string, substring; on any
//     other kind it matches nothing. ne = NOT eq and nin = NOT in, so both
//     match documents where the field is missing, and neither matches when
//     any reached value (or element) equals the value.
//
// Operators and the values they take (anything else is a validation error)
//   eq, ne, contains              string, number, boolean or null
//   gt, gte, lt, lte              string or number
//   in, nin                       array of at most 10,000 such scalars
//   starts_with, ends_with        string
//   regex                         POSIX extended pattern, at most 1,024
//                                 characters, compiled at parse time (see
//                                 filter/regex.h for the complexity guard)
//   exists                        boolean (default true): field present
//                                 (even if null) / absent
//   is_null                       boolean (default true): present and null /
//                                 NOT(present and null)
//   text                          string with at least one word: every word of
//                                 the query occurs among the field's words
//                                 (TextTokens); the words of all reached
//                                 strings and of their string elements
//                                 count together.
//                                 Evaluated in memory only (SQL marks it
//                                 inexact).
//   A value {"type": "dynamic", "field": "INPUT.x"} is replaced at parse time
//   by ParseOptions::resolve_dynamic(field).
//
// Limits: ParseOptions::max_depth nested logical objects (the top one counts),
// max_conditions conditions in total (shorthand ones included).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::filter {

enum class Op {
  kEq, kNe, kGt, kGte, kLt, kLte, kIn, kNin, kContains, kStartsWith, kEndsWith,
  kRegex, kExists, kIsNull, kText
};

// kAnd/kOr/kNot hold children (NOT: none of them is true); kCondition holds
// field/op/value, with case_sensitive already resolved from its ancestors.
struct Node {
  enum class Kind { kAnd, kOr, kNot, kCondition };
  Kind kind = Kind::kAnd;
  std::vector<Node> children;
  std::string field;
  Op op = Op::kEq;
  Json value;
  bool case_sensitive = false;
};

struct ParseOptions {
  int max_depth = 16;
  int max_conditions = 256;
  // Resolves a DynamicValue's "field" (e.g. "INPUT.query"); its error is
  // returned unchanged. Unset: dynamic values are a validation error.
  std::function<Result<Json>(const std::string& field)> resolve_dynamic;
};

inline constexpr size_t kMaxInValues = 10000;
inline constexpr size_t kMaxRegexLength = 1024;

// Parses `filters` (an object or null). Errors are kValidation statuses whose
// locations start with `location`, e.g. "body.filters.AND[1].operator"; all
// problems found are reported, not only the first.
Result<Node> Parse(const Json& filters, std::string_view location = "body.filters",
                   const ParseOptions& options = {});

// True when the filter accepts every document (`{}`, null, nested empties).
bool MatchesAll(const Node& node);

std::string_view OpName(Op op);

// ASCII-only lower-casing, the folding used by case-insensitive operators.
std::string FoldAscii(std::string_view s);

// The words of `text` for the `text` operator: maximal runs of [a-z0-9] and
// bytes >= 0x80 (so UTF-8 words survive), after ASCII lower-casing.
std::vector<std::string> TextTokens(std::string_view text);

}  // namespace strata::filter
