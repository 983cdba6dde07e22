#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "filter/eval.h"
#include "filter/filter.h"
#include "storage/filter_sql.h"

namespace strata::storage {
namespace {

using filter::Node;

// An in-memory database with the test table t(id, doc) and the filter
// functions registered.
class TestDb {
 public:
  TestDb() {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db_, "CREATE TABLE t(id INTEGER PRIMARY KEY, doc TEXT)", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    Status st = RegisterFilterFunctions(db_);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  ~TestDb() { sqlite3_close(db_); }
  TestDb(const TestDb&) = delete;
  TestDb& operator=(const TestDb&) = delete;

  sqlite3* db() { return db_; }

  void Insert(int64_t id, const Json& doc) {
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, "INSERT INTO t(id, doc) VALUES (?, ?)", -1, &stmt, nullptr),
              SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, id);
    std::string text = doc.dump();
    sqlite3_bind_text(stmt, 2, text.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    docs_.emplace_back(id, doc);
  }

  // Ids the SQL fragment selects; with `residual`, rows of an inexact
  // fragment are re-checked in memory, as callers must.
  // Indexes `fields` as the store's payload indexes do: payload_values holds
  // the elements of every value each field reaches, from the SQL the store's
  // triggers are made of.
  void IndexFields(const std::vector<std::string>& fields) {
    Exec("CREATE TABLE payload_values (doc INTEGER NOT NULL, path TEXT NOT NULL, type TEXT NOT NULL, value, folded);"
         "CREATE INDEX payload_values_value ON payload_values(path, value);"
         "CREATE INDEX payload_values_folded ON payload_values(path, folded);"
         "CREATE TABLE fields (path TEXT, steps TEXT)");
    indexes_.rowid_column = "e.id";
    for (const auto& f : fields) {
      const std::string path = JsonPathOf(f);
      if (path.empty()) continue;
      indexes_.paths.insert(path);
      sqlite3_stmt* stmt = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(db_, "INSERT INTO fields VALUES (?, ?)", -1, &stmt, nullptr), SQLITE_OK);
      sqlite3_bind_text(stmt, 1, path.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(stmt, 2, JsonPathSteps(path).dump().c_str(), -1, SQLITE_TRANSIENT);
      EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
      sqlite3_finalize(stmt);
    }
    Exec("INSERT INTO payload_values " +
         PayloadValuesSql("SELECT t.id AS doc, p.path AS path, p.steps AS steps, t.doc AS json FROM fields p, t"));
    use_indexes_ = true;
  }

  void Exec(const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "") << "\n" << sql;
    sqlite3_free(err);
  }

  // The query plan's details, one line per step.
  std::string Plan(const Node& filter) {
    SqlFragment f = CompileFilter(filter, "e.doc", use_indexes_ ? &indexes_ : nullptr);
    std::string sql = "EXPLAIN QUERY PLAN SELECT e.id FROM t AS e WHERE " + f.sql;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    for (size_t i = 0; i < f.params.size(); ++i) EXPECT_TRUE(BindJson(stmt, static_cast<int>(i + 1), f.params[i]).ok());
    std::string plan;
    while (sqlite3_step(stmt) == SQLITE_ROW) plan += std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3))) + "\n";
    sqlite3_finalize(stmt);
    return plan;
  }

  std::set<int64_t> Select(const Node& filter, bool residual = true,
                           SqlFragment* compiled = nullptr) {
    // "e" must not clash with the compiler's aliases
    SqlFragment f = CompileFilter(filter, "e.doc", use_indexes_ ? &indexes_ : nullptr);
    std::set<int64_t> ids;
    std::string sql = "SELECT e.id, e.doc FROM t AS e WHERE " + f.sql;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db_) << "\n" << sql;
      return ids;
    }
    for (size_t i = 0; i < f.params.size(); ++i) {
      Status st = BindJson(stmt, static_cast<int>(i + 1), f.params[i]);
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    EXPECT_EQ(sqlite3_bind_parameter_count(stmt), static_cast<int>(f.params.size())) << sql;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      int64_t id = sqlite3_column_int64(stmt, 0);
      if (residual && !f.exact) {
        Json doc = Json::parse(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
        if (!filter::Matches(filter, doc)) continue;
      }
      ids.insert(id);
    }
    EXPECT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(db_) << "\n" << sql;
    sqlite3_finalize(stmt);
    if (compiled != nullptr) *compiled = std::move(f);
    return ids;
  }

  std::set<int64_t> SelectInMemory(const Node& filter) const {
    std::set<int64_t> ids;
    for (const auto& [id, doc] : docs_) {
      if (filter::Matches(filter, doc)) ids.insert(id);
    }
    return ids;
  }

  const std::vector<std::pair<int64_t, Json>>& docs() const { return docs_; }

 private:
  sqlite3* db_ = nullptr;
  std::vector<std::pair<int64_t, Json>> docs_;
  PayloadIndexes indexes_;
  bool use_indexes_ = false;
};

Node MustParse(const Json& filter) {
  Result<Node> r = filter::Parse(filter);
  EXPECT_TRUE(r.ok()) << filter.dump().substr(0, 500) << ": " << r.status().ToString();
  return r.ok() ? *r : Node();
}

class FilterSqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* docs[] = {
        R"({"title": "Hello World", "year": 2024, "tags": ["News", "AI"], "meta": {"author": "Ann"}})",
        R"({"title": "hello there", "year": 2023.5, "tags": [], "meta": {"author": null}})",
        R"({"title": "Goodbye", "year": "2024", "tags": "news", "flag": true})",
        R"({"title": ["quick brown", "fox"], "year": 1, "flag": 1, "meta": {"author": {"x": 1}}})",
        R"({"year": null, "odd key'": "x'); DROP TABLE t; --", "ключ": "значение"})",
    };
    int id = 1;
    for (const char* d : docs) db_.Insert(id++, Json::parse(d));
  }

  // SQL (with residual) and memory must agree; returns the SQL ids.
  std::set<int64_t> Both(const char* filter_text) {
    Node f = MustParse(Json::parse(filter_text));
    std::set<int64_t> sql = db_.Select(f);
    EXPECT_EQ(sql, db_.SelectInMemory(f)) << filter_text;
    return sql;
  }

  TestDb db_;
};

using Ids = std::set<int64_t>;

TEST_F(FilterSqlTest, Operators) {
  EXPECT_EQ(Both(R"({"title": "hello world"})"), (Ids{1}));
  EXPECT_EQ(Both(R"({"title": "hello world", "case_sensitive": true})"), (Ids{}));
  EXPECT_EQ(Both(R"({"year": 2024})"), (Ids{1}));
  EXPECT_EQ(Both(R"({"year": "2024"})"), (Ids{3}));
  EXPECT_EQ(Both(R"({"year": null})"), (Ids{5}));
  EXPECT_EQ(Both(R"({"flag": true})"), (Ids{3}));
  EXPECT_EQ(Both(R"({"flag": 1})"), (Ids{4}));
  EXPECT_EQ(Both(R"({"field": "year", "operator": "ne", "value": 2024})"), (Ids{2, 3, 4, 5}));
  EXPECT_EQ(Both(R"({"field": "year", "operator": "gt", "value": 2000})"), (Ids{1, 2}));
  EXPECT_EQ(Both(R"({"field": "year", "operator": "lte", "value": "2024"})"), (Ids{3}));
  EXPECT_EQ(Both(R"({"tags": "news"})"), (Ids{1, 3}));
  EXPECT_EQ(Both(R"({"field": "tags", "operator": "contains", "value": "ai"})"), (Ids{1}));
  EXPECT_EQ(Both(R"({"field": "tags", "operator": "contains", "value": "ew"})"), (Ids{3}));
  EXPECT_EQ(Both(R"({"field": "tags", "operator": "in", "value": ["AI", 5, null]})"), (Ids{1}));
  EXPECT_EQ(Both(R"({"field": "year", "operator": "nin", "value": [2024, "2024", 1]})"),
            (Ids{2, 5}));
  EXPECT_EQ(Both(R"({"field": "title", "operator": "starts_with", "value": "HELLO"})"),
            (Ids{1, 2}));
  EXPECT_EQ(Both(R"({"field": "title", "operator": "ends_with", "value": "OX"})"), (Ids{4}));
  EXPECT_EQ(Both(R"j({"field": "title", "operator": "regex", "value": "^(good|quick)"})j"),
            (Ids{3, 4}));
  EXPECT_EQ(Both(R"({"field": "meta.author", "operator": "exists"})"), (Ids{1, 2, 4}));
  EXPECT_EQ(Both(R"({"field": "meta.author", "operator": "exists", "value": false})"),
            (Ids{3, 5}));
  EXPECT_EQ(Both(R"({"field": "meta.author", "operator": "is_null"})"), (Ids{2}));
  EXPECT_EQ(Both(R"({"field": "meta.author", "operator": "is_null", "value": false})"),
            (Ids{1, 3, 4, 5}));
  EXPECT_EQ(Both(R"({"meta.author.x": 1})"), (Ids{4}));
  EXPECT_EQ(Both(R"({"meta": "Ann"})"), (Ids{}));  // objects never match
  EXPECT_EQ(Both(R"({"ключ": "ЗНАЧЕНИЕ"})"), (Ids{}));  // ASCII folding only
  EXPECT_EQ(Both(R"({"ключ": "значение"})"), (Ids{5}));
}

TEST_F(FilterSqlTest, UserStringsAreBoundNotSpliced) {
  EXPECT_EQ(Both(R"j({"odd key'": "X'); DROP TABLE t; --"})j"), (Ids{5}));
  EXPECT_EQ(Both(R"j({"field": "odd key'", "operator": "regex", "value": "'\\)"})j"), (Ids{5}));
  EXPECT_EQ(db_.SelectInMemory(Node()).size(), 5u);
  EXPECT_EQ(Both("{}"), (Ids{1, 2, 3, 4, 5}));
}

TEST_F(FilterSqlTest, TextIsInexactAndRechecked) {
  Node f = MustParse(Json::parse(R"({"field": "title", "operator": "text", "value": "HELLO"})"));
  SqlFragment compiled;
  EXPECT_EQ(db_.Select(f, /*residual=*/false, &compiled), (Ids{1, 2, 3, 4, 5}));
  EXPECT_FALSE(compiled.exact);
  EXPECT_EQ(db_.Select(f), (Ids{1, 2}));
  EXPECT_EQ(Both(R"({"field": "title", "operator": "text", "value": "fox quick"})"), (Ids{4}));
  // Under NOT the rest of the filter still narrows rows in SQL.
  Node n = MustParse(Json::parse(R"({"NOT": [{"field": "title", "operator": "text",
                                                "value": "hello"}], "year": 2024})"));
  EXPECT_EQ(db_.Select(n, /*residual=*/false, &compiled), (Ids{1}));
  EXPECT_FALSE(compiled.exact);
  EXPECT_EQ(db_.Select(n), (Ids{}));
  EXPECT_TRUE(CompileFilter(MustParse(Json::parse(R"({"year": 1})")), "doc").exact);
}

TEST_F(FilterSqlTest, LargeInListIsOneParameter) {
  Json values = Json::array();
  for (int i = 0; i < 9998; ++i) values.push_back("v" + std::to_string(i));
  values.push_back(2024);
  values.push_back("NEWS");
  Node f = MustParse({{"field", "tags"}, {"operator", "in"}, {"value", values}});
  SqlFragment compiled = CompileFilter(f, "doc");
  EXPECT_EQ(compiled.params.size(), 3u);  // path, strings, numbers
  EXPECT_EQ(db_.Select(f), (Ids{1, 3}));
}

TEST_F(FilterSqlTest, BindJsonKinds) {
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_.db(), "SELECT typeof(?1), ?1, typeof(?2), typeof(?3), ?3, "
                                         "typeof(?4), typeof(?5), ?5, typeof(?6), ?6, ?7",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  Json values[] = {true, -5, 18446744073709551615u, 2.5, "x", Json::array({1, "a"}), nullptr};
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(BindJson(stmt, i + 1, values[i]).ok());
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  auto text = [&](int col) { return std::string(reinterpret_cast<const char*>(
                                 sqlite3_column_text(stmt, col))); };
  EXPECT_EQ(text(0), "integer");
  EXPECT_EQ(sqlite3_column_int(stmt, 1), 1);
  EXPECT_EQ(text(2), "integer");
  EXPECT_EQ(text(3), "real");
  EXPECT_EQ(text(5), "real");
  EXPECT_EQ(text(6), "text");
  EXPECT_EQ(text(7), "x");
  EXPECT_EQ(text(8), "text");
  EXPECT_EQ(text(9), R"([1,"a"])");
  EXPECT_EQ(sqlite3_column_type(stmt, 10), SQLITE_NULL);
  sqlite3_reset(stmt);
  Status out_of_range = BindJson(stmt, 99, 1);
  EXPECT_EQ(out_of_range.code(), StatusCode::kStorage);
  sqlite3_finalize(stmt);
}

TEST_F(FilterSqlTest, RegexpFunction) {
  auto eval = [&](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_.db(), sql, -1, &stmt, nullptr), SQLITE_OK);
    int rc = sqlite3_step(stmt);
    std::string out = rc == SQLITE_ROW ? std::to_string(sqlite3_column_int(stmt, 0))
                                       : std::string("error: ") + sqlite3_errmsg(db_.db());
    sqlite3_finalize(stmt);
    return out;
  };
  EXPECT_EQ(eval("SELECT strata_regexp('^a+b$', 'AAB', 0)"), "1");
  EXPECT_EQ(eval("SELECT strata_regexp('^a+b$', 'AAB', 1)"), "0");
  EXPECT_EQ(eval("SELECT strata_regexp('^1$', 1, 1)"), "0");  // only TEXT matches
  EXPECT_EQ(eval("SELECT strata_regexp('^a$', NULL, 1)"), "0");
  EXPECT_NE(eval("SELECT strata_regexp('a(', 'a', 1)").find("does not compile"),
            std::string::npos);
}

// ---- Randomized differential test: SQL (+ residual) == memory ----------------

// Whether plain object navigation along `field` meets an array before its
// last segment, so that the path fans out (filter.h).
bool FansOut(const Json& doc, const std::string& field) {
  std::vector<std::string> segments = SplitPath(field);
  const Json* cur = &doc;
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    if (!cur->is_object() || !cur->contains(segments[i])) return false;
    cur = &(*cur)[segments[i]];
    if (cur->is_array()) return true;
  }
  return false;
}

bool HasFieldIn(const Node& n, const std::set<std::string>& fields) {
  if (n.kind == Node::Kind::kCondition) return fields.count(n.field) > 0;
  for (const Node& c : n.children) {
    if (HasFieldIn(c, fields)) return true;
  }
  return false;
}

// Whether `n` holds a text condition somewhere below a node of kind `ancestor`.
bool HasTextBelow(const Node& n, Node::Kind ancestor, bool below = false) {
  if (n.kind == Node::Kind::kCondition) return below && n.op == filter::Op::kText;
  for (const Node& c : n.children) {
    if (HasTextBelow(c, ancestor, below || n.kind == ancestor)) return true;
  }
  return false;
}

class RandomFilters {
 public:
  explicit RandomFilters(uint64_t seed) : rng_(seed) {}

  Json Document() {
    Json doc = Json::object();
    for (const char* key : kTopFields) {
      if (Chance(0.3)) continue;  // missing fields
      std::string k = key;
      if (k == "meta") {
        // Mostly one object; sometimes an array of them, so that the meta.*
        // paths fan out (and are compared with the plain-object answer).
        double r = std::uniform_real_distribution<double>(0, 1)(rng_);
        if (r < 0.7) {
          doc[k] = Meta();
        } else if (r < 0.9) {
          Json metas = Json::array();
          for (int i = Int(0, 3); i > 0; --i) metas.push_back(Chance(0.8) ? Meta() : Value(1));
          doc[k] = metas;
        } else {
          doc[k] = Value(1);
        }
      } else if (k == "objects") {
        doc[k] = Chance(0.85) ? Objects(0) : Value(1);
      } else if (k == "tags") {
        doc[k] = Chance(0.8) ? StringArray() : Value(1);
      } else if (k == "nums") {
        doc[k] = Chance(0.8) ? NumberArray() : Value(1);
      } else if (k == "title") {
        doc[k] = Chance(0.7) ? Json(Pick(kSentences)) : Value(1);
      } else {
        doc[k] = Value(0);
      }
    }
    return doc;
  }

  Json Meta() {
    Json meta = Json::object();
    if (Chance(0.7)) meta["author"] = Chance(0.8) ? Json(String()) : Value(1);
    if (Chance(0.7)) meta["score"] = Chance(0.8) ? Number() : Value(1);
    if (Chance(0.6)) {
      double r = std::uniform_real_distribution<double>(0, 1)(rng_);
      meta["inner"] = r < 0.6   ? Json{{"x", Value(1)}}
                      : r < 0.8 ? Json::array({Json{{"x", Scalar()}}, Json{{"x", Value(1)}}, Scalar()})
                                : Value(1);
    }
    return meta;
  }

  // Detections as extractors write them: an array of objects, mixed with
  // what must contribute nothing (scalars, arrays of objects inside the
  // array); at the top level each object may hold another such array.
  Json Objects(int depth) {
    Json list = Json::array();
    for (int i = Int(0, 4); i > 0; --i) {
      int k = Int(0, 9);
      if (k < 7) {
        Json o = Json::object();
        if (Chance(0.8)) o["label"] = Chance(0.8) ? String() : Value(1);
        if (Chance(0.6)) o["score"] = Chance(0.8) ? Number() : Scalar();
        if (Chance(0.4)) o["tags"] = StringArray();
        if (depth == 0 && Chance(0.3)) o["parts"] = Chance(0.7) ? Objects(1) : Json{{"label", String()}};
        list.push_back(o);
      } else if (k == 7) {
        list.push_back(Json::array({Json{{"label", String()}}}));  // array of arrays
      } else {
        list.push_back(Scalar());
      }
    }
    return list;
  }

  Json Filter() {
    if (Chance(0.15)) return Condition();
    return Logical(0);
  }

 public:  // the vocabulary (kPaths is indexed by the payload-index run)
  static constexpr const char* kTopFields[] = {"s", "n", "b", "tags", "nums", "mixed", "meta",
                                               "title", "null_field", "weird key", "ключ", "objects"};
  static constexpr const char* kPaths[] = {
      "s", "n", "b", "tags", "nums", "mixed", "meta", "meta.author", "meta.score",
      "meta.inner.x", "meta.inner", "title", "null_field", "weird key", "ключ", "missing",
      "tags.x", "meta.missing.deep", "s.x", "objects", "objects.label", "objects.score",
      "objects.tags", "objects.parts.label", "objects.parts", "objects.label.x"};
  static constexpr const char* kStrings[] = {
      "news", "News", "NEWS", "sports", "Sport", "héllo", "HÉLLO", "Héllo", "café", "CAFÉ",
      "a", "A", "", "b", "ab", "abc", "ABC", "aBc", "x1", "X1", "2024-01-01", "2024-06-30",
      "zz", "a b c", "quick", "Quick FOX", "foo.bar", "[x]", "it's", "\"q\"", "back\\slash",
      "1", "true", "null", "Z"};
  static constexpr const char* kSentences[] = {
      "The quick brown fox", "quick FOX jumps", "Breaking news: sports", "un café, s'il vous plaît",
      "hello-world 2024", "", "NEWS news News", "naïve Café"};
  static constexpr const char* kAffixes[] = {"ne", "NE", "s", "S", "é", "É", "", "llo", "LLO",
                                             "a", "AB", "bc", "2024", "news", "café", "x"};
  static constexpr const char* kRegexes[] = {
      "^n", "S$", "^(news|sports)$", "[0-9]", "h.llo", "^$", "É", "é", "^a b", "x[0-9]+",
      "^[[:upper:]]", "ab*c", "qu[a-z]+k", "^.{3}$", "(^|[^a-z])fox", "\\.", "a|Z", "^[^a]"};
  static constexpr const char* kQueries[] = {"quick", "fox quick", "news", "café", "brown dog",
                                             "a", "2024", "NAÏVE", "plaît café", "hello world"};

  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <typename T, size_t N>
  T Pick(const T (&arr)[N]) {
    return arr[Int(0, static_cast<int>(N) - 1)];
  }

  Json String() { return Pick(kStrings); }
  Json Number() {
    switch (Int(0, 5)) {
      case 0:
        return Int(-3, 3);
      case 1: {
        static const double kDoubles[] = {0.0, -0.0, 0.5, 1.0, 2.5, -1.5, 0.1, 3.14159,
                                          1e-7, 1e20, 9007199254740992.0, 2024.0};
        return Pick(kDoubles);
      }
      case 2: {
        static const int64_t kInts[] = {100, 2024, 9007199254740993, 9223372036854775807,
                                        -9223372036854775807 - 1, -100};
        return Pick(kInts);
      }
      case 3:
        return 18446744073709551615u;  // beyond int64: a double in SQLite
      default:
        return Int(0, 2);
    }
  }
  Json Scalar() {
    switch (Int(0, 6)) {
      case 0:
      case 1:
      case 2:
        return String();
      case 3:
      case 4:
        return Number();
      case 5:
        return Chance(0.5);
      default:
        return nullptr;
    }
  }
  Json StringArray() {
    Json a = Json::array();
    for (int i = Int(0, 4); i > 0; --i) a.push_back(Chance(0.85) ? String() : Scalar());
    return a;
  }
  Json NumberArray() {
    Json a = Json::array();
    for (int i = Int(0, 4); i > 0; --i) a.push_back(Chance(0.85) ? Number() : Scalar());
    return a;
  }
  // Any value; `depth` limits nesting of arrays and objects.
  Json Value(int depth) {
    int k = Int(0, 9);
    if (depth < 2 && k == 8) {
      Json a = Json::array();
      for (int i = Int(0, 3); i > 0; --i) a.push_back(Value(depth + 1));  // may nest arrays
      return a;
    }
    if (depth < 2 && k == 9) {
      Json o = Json::object();
      for (int i = Int(0, 2); i > 0; --i) o[Pick(kStrings)] = Value(depth + 1);
      if (Chance(0.5)) o["x"] = Scalar();
      return o;
    }
    if (k == 7) return StringArray();
    return Scalar();
  }

  Json ConditionValue(const std::string& op) {
    if (op == "eq" || op == "ne" || op == "contains") return Scalar();
    if (op == "gt" || op == "gte" || op == "lt" || op == "lte") {
      return Chance(0.5) ? String() : Number();
    }
    if (op == "in" || op == "nin") {
      Json a = Json::array();
      for (int i = Int(0, 5); i > 0; --i) a.push_back(Scalar());
      return a;
    }
    if (op == "starts_with" || op == "ends_with") {
      return Chance(0.6) ? Json(Pick(kAffixes)) : String();
    }
    if (op == "regex") return Pick(kRegexes);
    if (op == "exists" || op == "is_null") return Chance(0.5);
    return Pick(kQueries);  // text
  }

  Json Condition() {
    static const char* kOps[] = {"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin",
                                 "contains", "starts_with", "ends_with", "regex", "exists",
                                 "is_null", "text"};
    std::string op = Pick(kOps);
    Json c = {{"field", Pick(kPaths)}, {"value", ConditionValue(op)}};
    if (op != "eq" || Chance(0.5)) c["operator"] = op;  // eq is the default
    if (Chance(0.1)) c["case_sensitive"] = Chance(0.5);
    return c;
  }

  Json Logical(int depth) {
    Json obj = Json::object();
    for (const char* key : {"AND", "OR", "NOT"}) {
      if (!Chance(depth == 0 ? 0.6 : 0.4)) continue;
      Json list = Json::array();
      for (int i = Int(0, 3); i > 0; --i) {
        list.push_back(depth < 3 && Chance(0.3) ? Logical(depth + 1) : Condition());
      }
      obj[key] = list;
    }
    for (int i = Int(0, obj.empty() ? 2 : 1); i > 0; --i) obj[Pick(kPaths)] = Scalar();
    if (Chance(0.3)) obj["case_sensitive"] = Chance(0.5);
    return obj;
  }

  std::mt19937_64 rng_;
};

void RunDifferential(bool payload_indexes) {
  constexpr int kDocs = 300;
  constexpr int kFilters = 3000;
  RandomFilters gen(0x5742a7a);  // fixed: failures must reproduce
  TestDb db;
  for (int i = 1; i <= kDocs; ++i) db.Insert(i, gen.Document());
  if (payload_indexes) db.IndexFields(std::vector<std::string>(std::begin(RandomFilters::kPaths), std::end(RandomFilters::kPaths)));
  // The paths that fan out in some document, and in how many documents any does.
  std::set<std::string> fanning;
  int fan_out_docs = 0;
  for (const auto& [id, doc] : db.docs()) {
    bool any = false;
    for (const char* path : RandomFilters::kPaths) {
      if (FansOut(doc, path)) {
        fanning.insert(path);
        any = true;
      }
    }
    fan_out_docs += any;
  }

  int inexact = 0, selective = 0, text_under_not = 0, text_under_or = 0, fan_out_selective = 0, failures = 0;
  for (int i = 0; i < kFilters && failures < 5; ++i) {
    Json raw = gen.Filter();
    Result<Node> parsed = filter::Parse(raw);
    ASSERT_TRUE(parsed.ok()) << raw.dump() << ": " << parsed.status().ToString();
    const Node& f = *parsed;

    std::set<int64_t> memory = db.SelectInMemory(f);
    SqlFragment compiled;
    std::set<int64_t> sql_only = db.Select(f, /*residual=*/false, &compiled);
    std::set<int64_t> sql = compiled.exact ? sql_only : db.Select(f);
    inexact += !compiled.exact;
    text_under_not += HasTextBelow(f, Node::Kind::kNot);
    text_under_or += HasTextBelow(f, Node::Kind::kOr);
    const bool discriminates = !memory.empty() && memory.size() < static_cast<size_t>(kDocs);
    selective += discriminates;
    fan_out_selective += discriminates && HasFieldIn(f, fanning);

    // The SQL alone must be a superset, and exact when it says so.
    bool superset = std::includes(sql_only.begin(), sql_only.end(), memory.begin(), memory.end());
    if (sql != memory || !superset) {
      ++failures;
      std::string diff;
      for (const auto& [id, doc] : db.docs()) {
        if (sql.count(id) != memory.count(id) || (memory.count(id) && !sql_only.count(id))) {
          diff += "\n  id " + std::to_string(id) + " sql=" + std::to_string(sql.count(id)) +
                  " memory=" + std::to_string(memory.count(id)) + " doc=" + doc.dump();
        }
      }
      ADD_FAILURE() << "filter #" << i << ": " << raw.dump() << "\nsql: " << compiled.sql
                    << "\nparams: " << Json(compiled.params).dump() << diff;
    }
  }
  // Guard the generator's usefulness: many filters must actually discriminate,
  // and text (hence inexact compilation, also under NOT/OR) must be common.
  EXPECT_GT(selective, kFilters / 3);
  EXPECT_GT(inexact, kFilters / 20);
  EXPECT_GT(text_under_not, 50);
  EXPECT_GT(text_under_or, 50);
  // Paths through arrays of objects must be common in documents and filters.
  EXPECT_GT(fan_out_docs, kDocs / 3);
  EXPECT_GT(fan_out_selective, kFilters / 5);
  std::printf("differential%s: %d filters, %d selective, %d inexact, text under NOT %d / OR %d, "
              "%d of %d documents fan out, %d selective filters on such paths\n",
              payload_indexes ? " (payload indexes)" : "", kFilters, selective, inexact, text_under_not,
              text_under_or, fan_out_docs, kDocs, fan_out_selective);
}

TEST(FilterSqlDifferential, RandomFiltersAgreeWithMemory) { RunDifferential(false); }

// Every field indexed: comparisons read payload_values, with the same answers.
TEST(FilterSqlDifferential, RandomFiltersOnIndexedFieldsAgreeWithMemory) { RunDifferential(true); }

TEST(FilterSqlPayloadIndexes, ComparisonsOnIndexedFieldsUseTheIndex) {
  TestDb db;
  for (int i = 1; i <= 50; ++i) db.Insert(i, {{"cat", i % 5 == 0 ? "News" : "sport"}, {"n", i}, {"tags", {"a", "b"}}});
  db.IndexFields({"cat", "n"});
  EXPECT_NE(db.Plan(MustParse({{"cat", "news"}})).find("payload_values_folded"), std::string::npos);
  EXPECT_NE(db.Plan(MustParse({{"field", "cat"}, {"operator", "eq"}, {"value", "News"}, {"case_sensitive", true}}))
                .find("payload_values_value"), std::string::npos);
  EXPECT_NE(db.Plan(MustParse({{"field", "n"}, {"operator", "gte"}, {"value", 45}})).find("payload_values_value"),
            std::string::npos);
  // Not indexed: the document's JSON is read.
  EXPECT_EQ(db.Plan(MustParse({{"tags", "a"}})).find("payload_values"), std::string::npos);
  EXPECT_EQ(db.Select(MustParse({{"cat", "news"}})).size(), 10u);
  EXPECT_EQ(db.Select(MustParse({{"field", "n"}, {"operator", "gte"}, {"value", 45}})).size(), 6u);
}

// An index on a path through arrays of objects holds every label the path
// reaches, so a comparison on it is one index lookup, however the documents
// nest, and reads no document.
TEST(FilterSqlPayloadIndexes, NestedPathsThroughArraysOfObjectsUseTheIndex) {
  TestDb db;
  for (int i = 1; i <= 50; ++i) {
    Json objects = Json::array({{{"label", "person"}}, {{"label", "thing" + std::to_string(i % 10)}}, 7});
    db.Insert(i, i % 2 == 0 ? Json{{"objects", objects}} : Json{{"objects", objects[1]}});
  }
  db.IndexFields({"objects.label"});
  for (const Json& f : {Json{{"objects.label", "THING3"}},
                        Json{{"field", "objects.label"}, {"operator", "in"}, {"value", {"thing3", "thing4"}}},
                        Json{{"field", "objects.label"}, {"operator", "gte"}, {"value", "thing8"}}}) {
    SCOPED_TRACE(f.dump());
    const std::string plan = db.Plan(MustParse(f));
    EXPECT_NE(plan.find("USING INDEX payload_values_"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("SCAN e"), std::string::npos) << plan;  // no pass over the documents
    SqlFragment compiled;
    EXPECT_EQ(db.Select(MustParse(f), /*residual=*/false, &compiled), db.SelectInMemory(MustParse(f)));
    EXPECT_TRUE(compiled.exact);
  }
  EXPECT_EQ(db.Select(MustParse({{"objects.label", "thing3"}})), (Ids{3, 13, 23, 33, 43}));  // single objects
  EXPECT_EQ(db.Select(MustParse({{"objects.label", "thing4"}})), (Ids{4, 14, 24, 34, 44}));  // in arrays
  EXPECT_EQ(db.Select(MustParse({{"objects.label", "person"}})).size(), 25u);
}

// The filter users write on detections, answered by SQL alone (exact, no
// in-memory re-check), with and without a payload index on the path.
TEST(FilterSqlArraysOfObjects, LabelInListSelectsDocumentsWithSuchAnObject) {
  for (bool indexed : {false, true}) {
    SCOPED_TRACE(indexed ? "payload index on objects.label" : "no payload index");
    TestDb db;
    db.Insert(1, Json::parse(R"({"objects": [{"label": "person", "score": 0.8},
                                             {"label": "Sports Ball", "score": 0.4}]})"));
    db.Insert(2, Json::parse(R"({"objects": [{"label": "person", "score": 0.9}]})"));
    db.Insert(3, Json::parse(R"({"objects": {"label": "sports ball"}})"));  // one object: plain path
    db.Insert(4, Json::parse(R"({"objects": ["sports ball", [{"label": "sports ball"}]]})"));  // no objects
    db.Insert(5, Json::parse(R"({"frames": [{"objects": [{"label": "dog"}, {"label": "sports ball"}]}]})"));
    db.Insert(6, Json::parse(R"({"title": "no detections"})"));
    if (indexed) db.IndexFields({"objects.label", "frames.objects.label"});
    auto sql_only = [&](const char* filter_text, SqlFragment* compiled = nullptr) {
      return db.Select(MustParse(Json::parse(filter_text)), /*residual=*/false, compiled);
    };

    SqlFragment compiled;
    EXPECT_EQ(sql_only(R"({"field": "objects.label", "operator": "in", "value": ["sports ball", "cat"]})",
                       &compiled),
              (Ids{1, 3}));
    EXPECT_TRUE(compiled.exact);
    EXPECT_EQ(sql_only(R"({"objects.label": "person"})"), (Ids{1, 2}));
    EXPECT_EQ(sql_only(R"({"field": "objects.label", "operator": "nin", "value": ["sports ball"]})"),
              (Ids{2, 4, 5, 6}));
    EXPECT_EQ(sql_only(R"({"field": "objects.score", "operator": "gte", "value": 0.85})"), (Ids{2}));
    EXPECT_EQ(sql_only(R"({"frames.objects.label": "SPORTS BALL"})"), (Ids{5}));
    EXPECT_EQ(sql_only(R"({"field": "objects.label", "operator": "exists"})"), (Ids{1, 2, 3}));
    EXPECT_EQ(sql_only(R"({"NOT": [{"objects.label": "person"}],
                           "AND": [{"field": "objects.label", "operator": "exists"}]})"),
              (Ids{3}));
  }
}

}  // namespace
}  // namespace strata::storage
