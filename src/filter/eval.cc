#include "filter/eval.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "filter/regex.h"

namespace strata::filter {

namespace {

// A JSON number as SQLite reads it: int64 when it fits, double otherwise
// (unsigned values above INT64_MAX become doubles in SQLite's JSON1 too).
struct Number {
  bool is_int;
  int64_t i;
  double d;
};

Number ToNumber(const Json& v) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return {true, static_cast<int64_t>(u), 0};
    }
    return {false, 0, static_cast<double>(u)};
  }
  if (v.is_number_integer()) return {true, v.get<int64_t>(), 0};
  return {false, 0, v.get<double>()};
}

int Sign(auto a, auto b) { return a < b ? -1 : (a > b ? 1 : 0); }

// Exact comparison of an integer with a double (SQLite compares INTEGER with
// REAL exactly too; converting the integer to double would not be).
int CompareIntDouble(int64_t i, double d) {
  constexpr double kTwo63 = 9223372036854775808.0;
  if (d >= kTwo63) return -1;
  if (d < -kTwo63) return 1;
  int64_t t = static_cast<int64_t>(d);  // exact: |d| < 2^63, truncated
  if (i != t) return Sign(i, t);
  double frac = d - static_cast<double>(t);  // exact
  return frac > 0 ? -1 : (frac < 0 ? 1 : 0);
}

int CompareNumbers(const Json& a, const Json& b) {
  Number x = ToNumber(a), y = ToNumber(b);
  if (x.is_int && y.is_int) return Sign(x.i, y.i);
  if (x.is_int) return CompareIntDouble(x.i, y.d);
  if (y.is_int) return -CompareIntDouble(y.i, x.d);
  return Sign(x.d, y.d);
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool SameText(std::string_view a, std::string_view b, bool cs) {
  if (a.size() != b.size()) return false;
  if (cs) return a == b;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool Equal(const Json& a, const Json& b, bool cs) {
  if (a.is_string() && b.is_string()) {
    return SameText(a.get_ref<const std::string&>(), b.get_ref<const std::string&>(), cs);
  }
  if (a.is_number() && b.is_number()) return CompareNumbers(a, b) == 0;
  if (a.is_boolean() && b.is_boolean()) return a.get<bool>() == b.get<bool>();
  return a.is_null() && b.is_null();
}

// Numbers with numbers, strings with strings (bytewise, never folded);
// anything else is unordered.
std::optional<int> Order(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return CompareNumbers(a, b);
  if (a.is_string() && b.is_string()) {
    int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return Sign(c, 0);
  }
  return std::nullopt;
}

// One scalar (or one array element when `in_array`) against condition `c`
// read as operator `op` (ne and nin are evaluated as eq and in, negated).
bool ElementMatches(Op op, const Node& c, const Json& elem, bool in_array) {
  const Json& value = c.value;
  switch (op) {
    case Op::kEq:
      return Equal(elem, value, c.case_sensitive);
    case Op::kIn:
      if (!value.is_array()) return false;
      for (const Json& candidate : value) {
        if (Equal(elem, candidate, c.case_sensitive)) return true;
      }
      return false;
    case Op::kGt:
    case Op::kGte:
    case Op::kLt:
    case Op::kLte: {
      std::optional<int> o = Order(elem, value);
      if (!o) return false;
      if (op == Op::kGt) return *o > 0;
      if (op == Op::kGte) return *o >= 0;
      if (op == Op::kLt) return *o < 0;
      return *o <= 0;
    }
    case Op::kContains:
      if (in_array) return Equal(elem, value, c.case_sensitive);
      if (!elem.is_string() || !value.is_string()) return false;
      if (c.case_sensitive) {
        return elem.get_ref<const std::string&>().find(value.get_ref<const std::string&>()) !=
               std::string::npos;
      }
      return FoldAscii(elem.get_ref<const std::string&>())
                 .find(FoldAscii(value.get_ref<const std::string&>())) != std::string::npos;
    case Op::kStartsWith:
    case Op::kEndsWith: {
      if (!elem.is_string() || !value.is_string()) return false;
      std::string_view s = elem.get_ref<const std::string&>();
      std::string_view affix = value.get_ref<const std::string&>();
      if (affix.size() > s.size()) return false;
      size_t at = op == Op::kStartsWith ? 0 : s.size() - affix.size();
      return SameText(s.substr(at, affix.size()), affix, c.case_sensitive);
    }
    case Op::kRegex: {
      if (!elem.is_string() || !value.is_string()) return false;
      auto re = CompileRegex(value.get<std::string>(), c.case_sensitive);
      return re.ok() && (*re)->Matches(elem.get_ref<const std::string&>());
    }
    default:  // ne, nin, exists, is_null, text: handled by MatchesCondition
      return false;
  }
}

// Array-any: an array matches when an element does; an object never does.
bool AnyMatches(Op op, const Node& c, const Json& field) {
  if (field.is_object()) return false;
  if (!field.is_array()) return ElementMatches(op, c, field, /*in_array=*/false);
  for (const Json& elem : field) {
    if (ElementMatches(op, c, elem, /*in_array=*/true)) return true;
  }
  return false;
}

// Calls `visit` on each value that segments[i..] reach from `cur` until it
// returns true, and says whether it did. Unlike FindPath, an array met with
// segments left fans out to its elements that are objects, so "objects.label"
// reaches the label of every object in the "objects" array (filter.h). The
// document itself never fans out: SQL reads it as an object.
template <typename Visit>
bool AnyReached(const Json& cur, const std::vector<std::string>& segments, size_t i,
                const Visit& visit) {
  if (i == segments.size()) return visit(cur);
  if (cur.is_object()) {
    auto it = cur.find(segments[i]);
    return it != cur.end() && AnyReached(*it, segments, i + 1, visit);
  }
  if (cur.is_array() && i > 0) {
    for (const Json& elem : cur) {
      // Arrays directly inside the array contribute nothing (filter.h).
      if (elem.is_object() && AnyReached(elem, segments, i, visit)) return true;
    }
  }
  return false;
}

// The words of every string reached (and of their string elements) count
// together, so a query may be split across the objects of an array.
bool TextMatches(const Json& query, const std::vector<std::string>& segments, const Json& doc) {
  if (!query.is_string()) return false;
  std::vector<std::string> wanted = TextTokens(query.get_ref<const std::string&>());
  if (wanted.empty()) return false;
  std::unordered_set<std::string> words;
  auto add = [&](const Json& s) {
    if (!s.is_string()) return;
    for (std::string& t : TextTokens(s.get_ref<const std::string&>())) words.insert(std::move(t));
  };
  AnyReached(doc, segments, 0, [&](const Json& field) {
    if (field.is_array()) {
      for (const Json& e : field) add(e);
    } else {
      add(field);
    }
    return false;  // collect from every value
  });
  for (const std::string& w : wanted) {
    if (!words.contains(w)) return false;
  }
  return true;
}

// A condition holds when ANY reached value satisfies it; ne, nin and the
// `false` forms of exists and is_null are the negations of eq, in, exists and
// is_null, so they hold when nothing is reached.
bool MatchesCondition(const Node& c, const Json& doc) {
  const std::vector<std::string> segments = SplitPath(c.field);
  auto any = [&](const auto& visit) { return AnyReached(doc, segments, 0, visit); };
  // exists/is_null take `true` unless told false (the parser's default).
  bool positive = !(c.value.is_boolean() && !c.value.get<bool>());
  switch (c.op) {
    case Op::kExists:
      return any([](const Json&) { return true; }) == positive;
    case Op::kIsNull:
      return any([](const Json& v) { return v.is_null(); }) == positive;
    case Op::kNe:
      return !any([&](const Json& v) { return AnyMatches(Op::kEq, c, v); });
    case Op::kNin:
      return !any([&](const Json& v) { return AnyMatches(Op::kIn, c, v); });
    case Op::kText:
      return TextMatches(c.value, segments, doc);
    default:
      return any([&](const Json& v) { return AnyMatches(c.op, c, v); });
  }
}

}  // namespace

bool Matches(const Node& filter, const Json& doc) {
  switch (filter.kind) {
    case Node::Kind::kAnd:
      for (const Node& c : filter.children) {
        if (!Matches(c, doc)) return false;
      }
      return true;
    case Node::Kind::kOr:
      for (const Node& c : filter.children) {
        if (Matches(c, doc)) return true;
      }
      return false;
    case Node::Kind::kNot:
      for (const Node& c : filter.children) {
        if (Matches(c, doc)) return false;
      }
      return true;
    case Node::Kind::kCondition:
      return MatchesCondition(filter, doc);
  }
  return false;
}

}  // namespace strata::filter
