#include "filter/filter.h"

#include <array>
#include <optional>
#include <utility>

#include "filter/regex.h"

namespace strata::filter {

namespace {

constexpr std::array<std::pair<std::string_view, Op>, 15> kOps = {{
    {"eq", Op::kEq},
    {"ne", Op::kNe},
    {"gt", Op::kGt},
    {"gte", Op::kGte},
    {"lt", Op::kLt},
    {"lte", Op::kLte},
    {"in", Op::kIn},
    {"nin", Op::kNin},
    {"contains", Op::kContains},
    {"starts_with", Op::kStartsWith},
    {"ends_with", Op::kEndsWith},
    {"regex", Op::kRegex},
    {"exists", Op::kExists},
    {"is_null", Op::kIsNull},
    {"text", Op::kText},
}};

// Past this many errors the rest of a hostile filter is not worth reporting.
constexpr int kMaxReportedErrors = 50;

std::optional<Op> LookupOp(std::string_view name) {
  for (const auto& [n, op] : kOps) {
    if (n == name) return op;
  }
  return std::nullopt;
}

std::string OpList() {
  std::string out;
  for (const auto& [n, op] : kOps) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// A short rendering of a value for error messages.
std::string Describe(const Json& v) {
  constexpr size_t kMax = 80;
  std::string s = v.is_string() ? "'" + v.get<std::string>() + "'"
                                : v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > kMax) {
    // Cut at a character boundary: error messages end up in JSON, and
    // nlohmann refuses to serialize broken UTF-8.
    size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + "...";
  }
  return s;
}

bool IsScalar(const Json& v) { return !v.is_array() && !v.is_object(); }

class Parser {
 public:
  explicit Parser(const ParseOptions& options) : opts_(options) {}

  Result<Node> Run(const Json& filters, const std::string& loc) {
    Node root;  // an empty AND: matches everything
    if (filters.is_object()) {
      root = ParseObject(filters, loc, 1, /*case_sensitive=*/false);
    } else if (!filters.is_null()) {
      Error(loc, "filters must be an object; got " + JsonTypeName(filters), "type_error");
    }
    if (!fatal_.ok()) return fatal_;
    if (!errors_.empty()) return errors_.ToStatus();
    return root;
  }

 private:
  void Error(const std::string& loc, std::string message, std::string type = "value_error") {
    if (++error_count_ <= kMaxReportedErrors) errors_.Add(loc, std::move(message), std::move(type));
  }

  // Any object holding "field" is a condition; everything else is logical.
  Node ParseObject(const Json& obj, const std::string& loc, int depth, bool cs) {
    if (obj.contains("field")) return ParseCondition(obj, loc, cs);
    return ParseLogical(obj, loc, depth, cs);
  }

  // Reads "case_sensitive" of `obj` into `cs` (null or absent: inherited).
  void ReadCaseSensitive(const Json& obj, const std::string& loc, bool& cs) {
    auto it = obj.find("case_sensitive");
    if (it == obj.end() || it->is_null()) return;
    if (!it->is_boolean()) {
      Error(loc + ".case_sensitive", "case_sensitive must be a boolean; got " + Describe(*it),
            "type_error");
      return;
    }
    cs = it->get<bool>();
  }

  Node ParseLogical(const Json& obj, const std::string& loc, int depth, bool cs) {
    Node out;  // kAnd
    if (depth > opts_.max_depth) {
      Error(loc, "filters nest deeper than " + std::to_string(opts_.max_depth) + " levels");
      return out;
    }
    ReadCaseSensitive(obj, loc, cs);
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string& key = it.key();
      const std::string key_loc = loc + "." + key;
      if (key == "case_sensitive") continue;
      if (key == "AND" || key == "OR" || key == "NOT") {
        if (it->is_null()) continue;
        if (!it->is_array()) {
          Error(key_loc, key + " must be a list of conditions or logical objects; got " +
                             JsonTypeName(*it), "type_error");
          continue;
        }
        Node group;
        group.kind = key == "AND" ? Node::Kind::kAnd
                     : key == "OR" ? Node::Kind::kOr : Node::Kind::kNot;
        for (size_t i = 0; i < it->size(); ++i) {
          const Json& item = (*it)[i];
          std::string item_loc = key_loc + "[" + std::to_string(i) + "]";
          if (!item.is_object()) {
            Error(item_loc, "expected a condition or logical object; got " + Describe(item),
                  "type_error");
            continue;
          }
          Node child = ParseObject(item, item_loc, depth + 1, cs);
          if (group.kind == Node::Kind::kAnd && child.kind == Node::Kind::kAnd) {
            for (Node& c : child.children) group.children.push_back(std::move(c));
          } else {
            group.children.push_back(std::move(child));
          }
        }
        // An empty list is "no clause" (see filter.h), so it adds nothing.
        if (group.children.empty()) continue;
        if (group.kind == Node::Kind::kAnd) {
          for (Node& c : group.children) out.children.push_back(std::move(c));
        } else if (group.kind == Node::Kind::kOr && group.children.size() == 1) {
          out.children.push_back(std::move(group.children[0]));
        } else {
          out.children.push_back(std::move(group));
        }
        continue;
      }
      // Shorthand equality: {"category": "news"}.
      Node cond;
      cond.kind = Node::Kind::kCondition;
      cond.op = Op::kEq;
      cond.case_sensitive = cs;
      cond.field = key;
      bool ok = CheckField(key, key_loc);
      if (std::optional<Json> v = ResolveValue(*it, key_loc)) {
        cond.value = std::move(*v);
        ok = CheckValue(cond, key_loc) && ok;
      } else {
        ok = false;
      }
      ok = CountCondition(key_loc) && ok;
      if (ok) out.children.push_back(std::move(cond));
    }
    if (out.children.size() == 1) return std::move(out.children[0]);
    return out;
  }

  Node ParseCondition(const Json& obj, const std::string& loc, bool cs) {
    Node cond;
    cond.kind = Node::Kind::kCondition;
    bool ok = true;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string& k = it.key();
      if (k != "field" && k != "operator" && k != "value" && k != "case_sensitive") {
        Error(loc + "." + k, "unknown key '" + k +
                                 "' in a condition; expected field, operator, value or "
                                 "case_sensitive", "extra_forbidden");
        ok = false;
      }
    }
    ReadCaseSensitive(obj, loc, cs);
    cond.case_sensitive = cs;

    const Json& field = obj["field"];
    if (!field.is_string()) {
      Error(loc + ".field", "field must be a string; got " + Describe(field), "type_error");
      ok = false;
    } else {
      cond.field = field.get<std::string>();
      ok = CheckField(cond.field, loc + ".field") && ok;
    }

    auto op_it = obj.find("operator");
    if (op_it != obj.end() && !op_it->is_null()) {
      std::optional<Op> op;
      if (op_it->is_string()) op = LookupOp(op_it->get<std::string>());
      if (!op) {
        Error(loc + ".operator", "unknown operator " + Describe(*op_it) + "; expected one of " +
                                     OpList(), "literal_error");
        ok = false;
      } else {
        cond.op = *op;
      }
    }

    const std::string value_loc = loc + ".value";
    auto value_it = obj.find("value");
    if (value_it == obj.end()) {
      if (cond.op == Op::kExists || cond.op == Op::kIsNull) {
        cond.value = true;
      } else if (ok) {  // a bad operator makes "which value?" moot
        Error(value_loc, "operator '" + std::string(OpName(cond.op)) + "' needs a value",
              "missing");
        ok = false;
      }
    } else if (std::optional<Json> v = ResolveValue(*value_it, value_loc)) {
      cond.value = std::move(*v);
      if (ok) ok = CheckValue(cond, value_loc);
    } else {
      ok = false;
    }
    ok = CountCondition(loc) && ok;
    if (!ok) return Node();  // never used: the recorded errors fail the parse
    return cond;
  }

  bool CheckField(const std::string& field, const std::string& loc) {
    if (field.empty()) {
      Error(loc, "field must not be empty");
      return false;
    }
    for (const std::string& seg : SplitPath(field)) {
      if (seg.empty()) {
        Error(loc, "field " + Describe(field) + " has an empty path segment");
        return false;
      }
    }
    for (unsigned char c : field) {
      if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f) {
        Error(loc, "field " + Describe(field) +
                       " contains a quote, backslash or control character");
        return false;
      }
    }
    return true;
  }

  // Replaces a DynamicValue by what the resolver says; nullopt on error.
  std::optional<Json> ResolveValue(const Json& v, const std::string& loc) {
    if (!v.is_object()) return v;
    auto type = v.find("type");
    if (type == v.end() || *type != "dynamic") return v;
    auto field = v.find("field");
    if (field == v.end() || !field->is_string()) {
      Error(loc + ".field", "a dynamic value needs a string 'field', e.g. 'INPUT.query'",
            field == v.end() ? "missing" : "type_error");
      return std::nullopt;
    }
    if (!opts_.resolve_dynamic) {
      Error(loc, "dynamic values need a retriever context (field " + Describe(*field) + ")");
      return std::nullopt;
    }
    Result<Json> resolved = opts_.resolve_dynamic(field->get<std::string>());
    if (!resolved.ok()) {
      if (fatal_.ok()) fatal_ = resolved.status();
      return std::nullopt;
    }
    return std::move(resolved).value();
  }

  bool CheckValue(const Node& cond, const std::string& loc) {
    const Json& v = cond.value;
    const std::string op = "operator '" + std::string(OpName(cond.op)) + "'";
    auto fail = [&](const std::string& wanted) {
      std::string msg = op + " needs " + wanted + "; got " + JsonTypeName(v) + " " + Describe(v);
      if (v.is_array() && (cond.op == Op::kEq || cond.op == Op::kNe)) {
        msg += " (use 'in' or 'nin' to compare with several values)";
      } else if (v.is_object()) {
        msg += " (to reach inside an object use a dotted field path such as 'a.b')";
      }
      Error(loc, msg, "type_error");
      return false;
    };
    switch (cond.op) {
      case Op::kEq:
      case Op::kNe:
      case Op::kContains:
        return IsScalar(v) || fail("a string, number, boolean or null value");
      case Op::kGt:
      case Op::kGte:
      case Op::kLt:
      case Op::kLte:
        return v.is_string() || v.is_number() || fail("a string or number value");
      case Op::kStartsWith:
      case Op::kEndsWith:
        return v.is_string() || fail("a string value");
      case Op::kExists:
      case Op::kIsNull:
        return v.is_boolean() || fail("a boolean value");
      case Op::kIn:
      case Op::kNin:
        if (!v.is_array()) return fail("a list of values");
        if (v.size() > kMaxInValues) {
          Error(loc, op + " takes at most " + std::to_string(kMaxInValues) + " values; got " +
                         std::to_string(v.size()));
          return false;
        }
        for (size_t i = 0; i < v.size(); ++i) {
          if (!IsScalar(v[i])) {  // the first bad element is enough to report
            Error(loc + "[" + std::to_string(i) + "]",
                  op + " compares with strings, numbers, booleans or null; got " +
                      JsonTypeName(v[i]), "type_error");
            return false;
          }
        }
        return true;
      case Op::kRegex: {
        if (!v.is_string()) return fail("a string pattern");
        auto re = CompileRegex(v.get<std::string>(), cond.case_sensitive);
        if (!re.ok()) {
          Error(loc, re.status().message());
          return false;
        }
        return true;
      }
      case Op::kText:
        if (!v.is_string()) return fail("a string query");
        if (TextTokens(v.get<std::string>()).empty()) {
          Error(loc, "text query " + Describe(v) + " has no words to match");
          return false;
        }
        return true;
    }
    return true;
  }

  bool CountCondition(const std::string& loc) {
    if (++conditions_ <= opts_.max_conditions) return true;
    if (conditions_ == opts_.max_conditions + 1) {
      Error(loc, "filters hold more than " + std::to_string(opts_.max_conditions) +
                     " conditions");
    }
    return false;
  }

  const ParseOptions& opts_;
  ValidationErrors errors_;
  int error_count_ = 0;
  int conditions_ = 0;
  Status fatal_;  // a resolver error, returned as is
};

}  // namespace

Result<Node> Parse(const Json& filters, std::string_view location, const ParseOptions& options) {
  return Parser(options).Run(filters, std::string(location));
}

bool MatchesAll(const Node& node) {
  switch (node.kind) {
    case Node::Kind::kAnd:
      for (const Node& c : node.children) {
        if (!MatchesAll(c)) return false;
      }
      return true;
    case Node::Kind::kNot:
      return node.children.empty();
    case Node::Kind::kOr:
      for (const Node& c : node.children) {
        if (MatchesAll(c)) return true;
      }
      return false;
    case Node::Kind::kCondition:
      return false;
  }
  return false;
}

std::string_view OpName(Op op) {
  for (const auto& [n, o] : kOps) {
    if (o == op) return n;
  }
  return "?";
}

std::string FoldAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string> TextTokens(std::string_view text) {
  std::vector<std::string> tokens;
  std::string cur;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 'A' && c <= 'Z') {
      cur += static_cast<char>(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80) {
      cur += ch;
    } else if (!cur.empty()) {
      tokens.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) tokens.push_back(std::move(cur));
  return tokens;
}

}  // namespace strata::filter
