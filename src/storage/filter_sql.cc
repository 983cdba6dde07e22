#include "storage/filter_sql.h"

#include <cstddef>
#include <cstdint>
#include <limits>

#include "filter/regex.h"

namespace strata::storage {

namespace {

using filter::Node;
using filter::Op;

// SQLite 3.40 cannot quote '"' or '\' inside a JSON path key, and documents
// escape control characters, so such paths cannot be looked up exactly. The
// parser rejects them; hand-built nodes fall back to the in-memory check.
bool QuotablePath(const std::vector<std::string>& segments) {
  for (const std::string& s : segments) {
    if (s.empty()) return false;
    for (unsigned char c : s) {
      if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f) return false;
    }
  }
  return true;
}

std::string JsonPath(const std::vector<std::string>& segments) {
  std::string path = "$";
  for (const std::string& s : segments) path += ".\"" + s + "\"";
  return path;
}

int64_t Utf8Length(std::string_view s) {
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Emits SQL left to right. Parameters are appended at the moment their '?' is
// written, so their order always matches the text (never build pieces with
// `a + Param() + b`: the operands of + are unsequenced).
class Compiler {
 public:
  Compiler(std::string_view doc, const PayloadIndexes* indexes) : doc_(doc), indexes_(indexes) {}

  SqlFragment Finish(const Node& root) {
    CompileNode(root, /*positive=*/true);
    return std::move(out_);
  }

 private:
  void Emit(std::string_view s) { out_.sql += s; }
  void Param(Json v) {
    out_.sql += '?';
    out_.params.push_back(std::move(v));
  }
  void Inexact(bool positive) {
    out_.exact = false;
    Emit(positive ? "1" : "0");
  }

  void CompileNode(const Node& n, bool positive) {
    if (n.kind == Node::Kind::kCondition) {
      CompileCondition(n, positive);
      return;
    }
    if (n.children.empty()) {  // AND/NOT of nothing: true; OR of nothing: false
      Emit(n.kind == Node::Kind::kOr ? "0" : "1");
      return;
    }
    // NOT[a, b] = NOT (a OR b); its children flip polarity.
    bool is_not = n.kind == Node::Kind::kNot;
    Emit(is_not ? "NOT (" : "(");
    const char* sep = n.kind == Node::Kind::kAnd ? " AND " : " OR ";
    for (size_t i = 0; i < n.children.size(); ++i) {
      if (i > 0) Emit(sep);
      CompileNode(n.children[i], is_not ? !positive : positive);
    }
    Emit(")");
  }

  // Every condition is [NOT] "some value the path reaches satisfies P"
  // (filter.h): ne, nin and the false forms of exists/is_null are negations.
  void CompileCondition(const Node& c, bool positive) {
    std::vector<std::string> segments = SplitPath(c.field);
    if (c.op == Op::kText || !QuotablePath(segments)) {
      Inexact(positive);
      return;
    }
    const bool flag = !(c.value.is_boolean() && !c.value.get<bool>());
    const bool negate = c.op == Op::kNe || c.op == Op::kNin ||
                        ((c.op == Op::kExists || c.op == Op::kIsNull) && !flag);
    const Op op = c.op == Op::kNe ? Op::kEq : c.op == Op::kNin ? Op::kIn : c.op;
    if (negate) Emit("NOT ");
    const std::string path = JsonPath(segments);
    // A payload index holds the elements of every value the path reaches,
    // fan-out included (PayloadValuesSql), so its lookup is the whole answer.
    if (segments.size() == 1 || IndexLookup(op, path)) {
      Reached(op, c, path);
      return;
    }
    // When no proper prefix of the path is an array, plain navigation reaches
    // exactly what the fan-out walk would; when one is, plain navigation
    // reaches nothing. So: the plain test OR the walk, guarded so that rows
    // without an array on the path pay only the json_type checks.
    Emit("(");
    Reached(op, c, path);
    Emit(" OR (");
    for (size_t k = 1; k < segments.size(); ++k) {
      Emit(k == 1 ? "(" : " OR ");
      Emit("json_type(");
      Emit(doc_);
      Emit(", ");
      Param(JsonPath({segments.begin(), segments.begin() + static_cast<std::ptrdiff_t>(k)}));
      Emit(") = 'array'");
    }
    Emit(") AND ");
    FannedOut(op, c, segments);
    Emit("))");
  }

  // Whether a condition `op` on `path` is answered from payload_values.
  bool IndexLookup(Op op, const std::string& path) const {
    const bool comparison = op == Op::kEq || op == Op::kIn || op == Op::kGt || op == Op::kGte || op == Op::kLt ||
                            op == Op::kLte;
    return comparison && indexes_ != nullptr && indexes_->paths.count(path) > 0;
  }

  // Plain navigation: the single value at `path`; for a comparison answered
  // from a payload index, every value the path reaches (AnyElement).
  void Reached(Op op, const Node& c, const std::string& path) {
    switch (op) {
      case Op::kExists:
        Emit("(json_type(");
        Emit(doc_);
        Emit(", ");
        Param(path);
        Emit(") IS NOT NULL)");
        return;
      case Op::kIsNull:
        Emit("(json_type(");
        Emit(doc_);
        Emit(", ");
        Param(path);
        Emit(") IS 'null')");
        return;
      default:
        AnyElement(op, c, path);
        return;
    }
  }

  // The walk of filter.h over a path of k > 1 segments: the rows of sf_oI
  // whose type is 'object' are the objects segment I leads to (the value
  // itself when an object, its object elements when an array), and the last
  // segment is read in each of those of sf_o<k-2>. json_each's value of a
  // non-object row is not JSON text (strings come unquoted), so it is never
  // handed to a JSON function: source() maps it to NULL, which json_each and
  // json_type read as nothing.
  void FannedOut(Op op, const Node& c, const std::vector<std::string>& segments) {
    auto source = [&](size_t level) {  // the JSON the segment `level` is read in
      return level == 0 ? std::string(doc_)
                        : "CASE WHEN sf_o" + std::to_string(level - 1) + ".type = 'object' THEN sf_o" +
                              std::to_string(level - 1) + ".value END";
    };
    const size_t last = segments.size() - 1;
    Emit("EXISTS (SELECT 1 FROM ");
    for (size_t level = 0; level < last; ++level) {
      const std::string src = source(level);
      const std::string key = JsonPath({segments[level]});
      if (level > 0) Emit(", ");
      Emit("json_each(CASE json_type(");
      Emit(src);
      Emit(", ");
      Param(key);
      Emit(") WHEN 'array' THEN json_extract(");
      Emit(src);
      Emit(", ");
      Param(key);
      Emit(") WHEN 'object' THEN json_array(json_extract(");
      Emit(src);
      Emit(", ");
      Param(key);
      Emit(")) END) AS sf_o");
      Emit(std::to_string(level));
    }
    const std::string src = source(last);
    const std::string key = JsonPath({segments[last]});
    switch (op) {
      case Op::kExists:
      case Op::kIsNull:
        Emit(" WHERE json_type(");
        Emit(src);
        Emit(", ");
        Param(key);
        Emit(op == Op::kExists ? ") IS NOT NULL)" : ") IS 'null')");
        return;
      default:
        Emit(", json_each(");
        Emit(src);
        Emit(", ");
        Param(key);
        Emit(") AS sf_e WHERE typeof(sf_e.key) <> 'text' AND ");
        ElementPredicate(op, c);
        Emit(")");
        return;
    }
  }

  // Array-any through json_each, which yields the elements of an array, the
  // value itself for a scalar (key NULL), nothing for a missing path, and the
  // members of an object (text keys: excluded, objects never match).
  // payload_values holds exactly those elements of every value an indexed
  // path reaches, so a comparison on one becomes an index lookup there.
  void AnyElement(Op op, const Node& c, const std::string& path) {
    if (IndexLookup(op, path)) {
      Emit("(");
      Emit(indexes_->rowid_column);
      Emit(" IN (SELECT sf_e.doc FROM payload_values AS sf_e WHERE sf_e.path = ");
      Param(path);
      Emit(" AND ");
      folded_ = true;
      ElementPredicate(op, c);
      folded_ = false;
      Emit("))");
      return;
    }
    Emit("EXISTS (SELECT 1 FROM json_each(");
    Emit(doc_);
    Emit(", ");
    Param(path);
    Emit(") AS sf_e WHERE typeof(sf_e.key) <> 'text' AND ");
    ElementPredicate(op, c);
    Emit(")");
  }

  // The folded text of the current element.
  void Text(bool cs) { Emit(cs ? "sf_e.value" : folded_ ? "sf_e.folded" : "lower(sf_e.value)"); }
  Json Fold(const Json& s, bool cs) {
    return cs ? s : Json(filter::FoldAscii(s.get_ref<const std::string&>()));
  }

  void EqualTo(const Json& v, bool cs) {
    if (v.is_string()) {
      Emit("(sf_e.type = 'text' AND ");
      Text(cs);
      Emit(" = ");
      Param(Fold(v, cs));
      Emit(")");
    } else if (v.is_number()) {
      Emit("(sf_e.type IN ('integer', 'real') AND sf_e.value = ");
      Param(v);
      Emit(")");
    } else if (v.is_boolean()) {
      Emit(v.get<bool>() ? "sf_e.type = 'true'" : "sf_e.type = 'false'");
    } else if (v.is_null()) {
      Emit("sf_e.type = 'null'");
    } else {
      Emit("0");  // arrays and objects never equal an element
    }
  }

  // `in` binds each kind's values as one JSON array (a list of 10,000 values
  // must not become 10,000 parameters), matched with IN over json_each.
  void InList(const Json& list, bool cs) {
    Json strings = Json::array(), numbers = Json::array();
    bool has_true = false, has_false = false, has_null = false;
    if (list.is_array()) {
      for (const Json& v : list) {
        if (v.is_string()) {
          strings.push_back(Fold(v, cs));
        } else if (v.is_number()) {
          numbers.push_back(v);
        } else if (v.is_boolean()) {
          (v.get<bool>() ? has_true : has_false) = true;
        } else if (v.is_null()) {
          has_null = true;
        }
      }
    }
    bool first = true;
    auto next = [&] {
      Emit(first ? "(" : " OR ");
      first = false;
    };
    auto add = [&](std::string_view alternative) {
      next();
      Emit(alternative);
    };
    if (!strings.empty()) {
      next();
      Emit("(sf_e.type = 'text' AND ");
      Text(cs);
      Emit(" IN (SELECT sf_v.value FROM json_each(");
      Param(std::move(strings));
      Emit(") AS sf_v))");
    }
    if (!numbers.empty()) {
      next();
      Emit("(sf_e.type IN ('integer', 'real') AND sf_e.value IN (SELECT sf_v.value FROM json_each(");
      Param(std::move(numbers));
      Emit(") AS sf_v))");
    }
    if (has_true) add("sf_e.type = 'true'");
    if (has_false) add("sf_e.type = 'false'");
    if (has_null) add("sf_e.type = 'null'");
    Emit(first ? "0" : ")");
  }

  void ElementPredicate(Op op, const Node& c) {
    const Json& v = c.value;
    const bool cs = c.case_sensitive;
    switch (op) {
      case Op::kEq:
        EqualTo(v, cs);
        return;
      case Op::kIn:
        InList(v, cs);
        return;
      case Op::kGt:
      case Op::kGte:
      case Op::kLt:
      case Op::kLte: {
        const char* cmp = op == Op::kGt ? " > " : op == Op::kGte ? " >= "
                          : op == Op::kLt ? " < " : " <= ";
        if (v.is_string()) {
          Emit("(sf_e.type = 'text' AND sf_e.value");  // bytewise: BINARY collation
        } else if (v.is_number()) {
          Emit("(sf_e.type IN ('integer', 'real') AND sf_e.value");
        } else {
          Emit("0");
          return;
        }
        Emit(cmp);
        Param(v);
        Emit(")");
        return;
      }
      case Op::kContains:
        if (!v.is_string()) {
          // Only array elements can "contain" a non-string by equality.
          Emit("(sf_e.key IS NOT NULL AND ");
          EqualTo(v, cs);
          Emit(")");
          return;
        }
        // Substring of a string field, equality with an array's element.
        Emit("(sf_e.type = 'text' AND CASE WHEN sf_e.key IS NULL THEN instr(");
        Text(cs);
        Emit(", ");
        Param(Fold(v, cs));
        Emit(") > 0 ELSE ");
        Text(cs);
        Emit(" = ");
        Param(Fold(v, cs));
        Emit(" END)");
        return;
      case Op::kStartsWith:
      case Op::kEndsWith: {
        if (!v.is_string()) {
          Emit("0");
          return;
        }
        int64_t len = Utf8Length(v.get_ref<const std::string&>());
        if (len == 0) {  // every string starts and ends with ""
          Emit("sf_e.type = 'text'");
          return;
        }
        // substr counts characters; for valid UTF-8 a prefix or suffix of
        // `len` characters equals the value exactly when the bytes do.
        Emit("(sf_e.type = 'text' AND substr(");
        Text(cs);
        if (op == Op::kStartsWith) {
          Emit(", 1, ");
          Param(len);
        } else {
          Emit(", ");
          Param(-len);
        }
        Emit(") = ");
        Param(Fold(v, cs));
        Emit(")");
        return;
      }
      case Op::kRegex:
        if (!v.is_string()) {
          Emit("0");
          return;
        }
        Emit("(sf_e.type = 'text' AND strata_regexp(");
        Param(v);
        Emit(cs ? ", sf_e.value, 1))" : ", sf_e.value, 0))");
        return;
      default:  // ne/nin/exists/is_null/text never reach element level
        Emit("0");
        return;
    }
  }

  std::string_view doc_;
  const PayloadIndexes* indexes_;
  bool folded_ = false;  // inside payload_values, whose `folded` is lower(value)
  SqlFragment out_;
};

void RegexpFunction(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc != 3 || sqlite3_value_type(argv[0]) != SQLITE_TEXT ||
      sqlite3_value_type(argv[1]) != SQLITE_TEXT) {
    sqlite3_result_int(ctx, 0);
    return;
  }
  std::string pattern(reinterpret_cast<const char*>(sqlite3_value_text(argv[0])),
                      static_cast<size_t>(sqlite3_value_bytes(argv[0])));
  bool cs = sqlite3_value_int(argv[2]) != 0;
  auto re = filter::CompileRegex(pattern, cs);
  if (!re.ok()) {
    sqlite3_result_error(ctx, re.status().message().c_str(), -1);
    return;
  }
  const char* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
  sqlite3_result_int(ctx, text != nullptr && (*re)->Matches(text) ? 1 : 0);
}

}  // namespace

SqlFragment CompileFilter(const filter::Node& filter, std::string_view doc_column, const PayloadIndexes* indexes) {
  return Compiler(doc_column, indexes).Finish(filter);
}

std::string JsonPathOf(std::string_view field) {
  std::vector<std::string> segments = SplitPath(std::string(field));
  return QuotablePath(segments) ? JsonPath(segments) : std::string();
}

Json JsonPathSteps(std::string_view json_path) {
  // JsonPath writes $."s1"."s2"... with no '"' inside a segment, so the
  // segments are the odd pieces between quotes.
  Json steps = Json::array();
  size_t open = json_path.find('"');
  while (open != std::string_view::npos) {
    const size_t close = json_path.find('"', open + 1);
    if (close == std::string_view::npos) break;
    steps.push_back(JsonPath({std::string(json_path.substr(open + 1, close - open - 1))}));
    open = json_path.find('"', close + 1);
  }
  return steps;
}

std::string PayloadValuesSql(std::string_view sources) {
  // sv_reach walks the steps as FannedOut does: (i, json) is an object the
  // first i steps lead to; the step out of it continues in the value when
  // that is an object and in each object element when it is an array
  // (scalars and nested arrays lead nowhere). json_each of the last step in
  // each such object then gives the rows, as json_each(doc, path) does for a
  // path through plain objects. The walk starts one step in, and one-segment
  // paths skip it, so that whole documents never go through the recursion's
  // queue (copying them there made a refill several times slower). A
  // recursive CTE is allowed in a trigger only inside a subquery, hence the
  // outer SELECT.
  auto step = [](const char* at, const char* index) {
    return std::string("json_extract(") + at + ".steps, '$[' || " + index + " || ']')";
  };
  auto objects_at = [](const std::string& json, const std::string& key) {  // the value, or its object elements
    return "json_each(CASE json_type(" + json + ", " + key + ") WHEN 'array' THEN json_extract(" + json + ", " + key +
           ") WHEN 'object' THEN json_array(json_extract(" + json + ", " + key + ")) END) AS sv_o";
  };
  return "SELECT sv_v.doc, sv_v.path, sv_v.type, sv_v.value, "
         "CASE WHEN sv_v.type = 'text' THEN lower(sv_v.value) END FROM ("
         "WITH RECURSIVE sv_src AS NOT MATERIALIZED (" + std::string(sources) + "), "
         "sv_reach(doc, path, steps, i, json) AS ("
         "SELECT sv_s.doc, sv_s.path, sv_s.steps, 1, sv_o.value FROM sv_src AS sv_s, " +
         objects_at("sv_s.json", step("sv_s", "0")) +
         " WHERE json_array_length(sv_s.steps) > 1 AND sv_o.type = 'object' "
         "UNION ALL "
         "SELECT sv_r.doc, sv_r.path, sv_r.steps, sv_r.i + 1, sv_o.value FROM sv_reach AS sv_r, " +
         objects_at("sv_r.json", step("sv_r", "sv_r.i")) +
         " WHERE sv_r.i + 1 < json_array_length(sv_r.steps) AND sv_o.type = 'object') "
         "SELECT sv_r.doc, sv_r.path, sv_e.type, sv_e.value FROM sv_reach AS sv_r, "
         "json_each(sv_r.json, json_extract(sv_r.steps, '$[#-1]')) AS sv_e "
         "WHERE sv_r.i = json_array_length(sv_r.steps) - 1 AND typeof(sv_e.key) <> 'text' "
         "UNION ALL "
         "SELECT sv_s.doc, sv_s.path, sv_e.type, sv_e.value FROM sv_src AS sv_s, json_each(sv_s.json, sv_s.path) AS sv_e "
         "WHERE json_array_length(sv_s.steps) = 1 AND typeof(sv_e.key) <> 'text') AS sv_v";
}

Status BindJson(sqlite3_stmt* stmt, int index, const Json& value) {
  int rc = SQLITE_OK;
  switch (value.type()) {
    case Json::value_t::null:
      rc = sqlite3_bind_null(stmt, index);
      break;
    case Json::value_t::boolean:
      rc = sqlite3_bind_int64(stmt, index, value.get<bool>() ? 1 : 0);
      break;
    case Json::value_t::number_unsigned: {
      uint64_t u = value.get<uint64_t>();
      rc = u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
               ? sqlite3_bind_int64(stmt, index, static_cast<int64_t>(u))
               : sqlite3_bind_double(stmt, index, static_cast<double>(u));
      break;
    }
    case Json::value_t::number_integer:
      rc = sqlite3_bind_int64(stmt, index, value.get<int64_t>());
      break;
    case Json::value_t::number_float:
      rc = sqlite3_bind_double(stmt, index, value.get<double>());
      break;
    case Json::value_t::string: {
      const std::string& s = value.get_ref<const std::string&>();
      rc = sqlite3_bind_text64(stmt, index, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    }
    default: {
      std::string text = value.dump();
      rc = sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8);
      break;
    }
  }
  if (rc != SQLITE_OK) {
    return Status::Storage("binding parameter " + std::to_string(index) + ": " +
                           sqlite3_errstr(rc));
  }
  return Status::Ok();
}

Status RegisterFilterFunctions(sqlite3* db) {
  int rc = sqlite3_create_function_v2(
      db, "strata_regexp", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
      RegexpFunction, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return Status::Storage(std::string("registering strata_regexp: ") + sqlite3_errmsg(db));
  }
  return Status::Ok();
}

}  // namespace strata::storage
