#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "filter/eval.h"
#include "filter/filter.h"
#include "filter/regex.h"

namespace strata::filter {
namespace {

Node MustParse(std::string_view text, const ParseOptions& options = {}) {
  Result<Node> r = Parse(Json::parse(text), "body.filters", options);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : Node();
}

// True when `filter` accepts `doc` (both JSON text).
bool M(std::string_view filter, std::string_view doc) {
  return Matches(MustParse(filter), Json::parse(doc));
}

// The validation errors of a filter that must not parse.
Json Errors(const Json& filter, const ParseOptions& options = {}) {
  Result<Node> r = Parse(filter, "body.filters", options);
  EXPECT_FALSE(r.ok()) << filter.dump();
  if (r.ok()) return Json::array();
  EXPECT_EQ(r.status().code(), StatusCode::kValidation) << r.status().ToString();
  return r.status().details()["validation_errors"];
}

Json FirstError(std::string_view filter, const ParseOptions& options = {}) {
  Json errors = Errors(Json::parse(filter), options);
  return errors.empty() ? Json::object() : errors[0];
}

Json Cond(std::string_view field, std::string_view op, Json value) {
  return {{"field", field}, {"operator", op}, {"value", std::move(value)}};
}

// ---- Parser ----------------------------------------------------------------

TEST(FilterParse, EmptyAndNullMatchEverything) {
  EXPECT_TRUE(MatchesAll(MustParse("{}")));
  EXPECT_TRUE(MatchesAll(MustParse("null")));
  EXPECT_TRUE(MatchesAll(MustParse(R"({"AND": [], "OR": [], "NOT": []})")));
  EXPECT_TRUE(MatchesAll(MustParse(R"({"AND": null, "OR": [{}], "case_sensitive": true})")));
  EXPECT_FALSE(MatchesAll(MustParse(R"({"a": 1})")));
  EXPECT_TRUE(M("{}", R"({"a": 1})"));
}

TEST(FilterParse, ShorthandIsAndOfEquals) {
  Node n = MustParse(R"({"category": "news", "year": 2024})");
  ASSERT_EQ(n.kind, Node::Kind::kAnd);
  ASSERT_EQ(n.children.size(), 2u);
  EXPECT_EQ(n.children[0].field, "category");
  EXPECT_EQ(n.children[0].op, Op::kEq);
  EXPECT_EQ(n.children[1].value, 2024);
  EXPECT_TRUE(M(R"({"category": "news", "year": 2024})", R"({"category": "News", "year": 2024.0})"));
  EXPECT_FALSE(M(R"({"category": "news", "year": 2024})", R"({"category": "news", "year": 2023})"));
  EXPECT_TRUE(M(R"({"metadata.author": "ann"})", R"({"metadata": {"author": "Ann"}})"));
}

TEST(FilterParse, BareConditionAndDefaultOperator) {
  Node n = MustParse(R"({"field": "a.b", "value": 3})");
  EXPECT_EQ(n.kind, Node::Kind::kCondition);
  EXPECT_EQ(n.op, Op::kEq);
  EXPECT_EQ(n.field, "a.b");
  EXPECT_TRUE(M(R"({"field": "a", "operator": "gt", "value": 2})", R"({"a": 3})"));
}

TEST(FilterParse, UnknownOperatorNamesLocationAndValue) {
  Json e = FirstError(R"({"AND": [{"field": "a", "value": 1},
                                  {"field": "b", "operator": "equals", "value": 1}]})");
  EXPECT_EQ(e["location"], "body.filters.AND[1].operator");
  EXPECT_NE(e["message"].get<std::string>().find("'equals'"), std::string::npos);
  EXPECT_NE(e["message"].get<std::string>().find("expected one of eq, ne, gt"), std::string::npos);
  EXPECT_EQ(e["type"], "literal_error");
}

TEST(FilterParse, CustomLocationPrefixAndNesting) {
  Result<Node> r = Parse(Json::parse(R"({"OR": [{"NOT": [{"field": 1}]}]})"), "body.query.filters");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().details()["validation_errors"][0]["location"],
            "body.query.filters.OR[0].NOT[0].field");
}

TEST(FilterParse, ReportsEveryProblem) {
  Json errors = Errors(Json::parse(R"({"AND": [{"field": "a", "operator": "nope"},
                                               {"field": "", "value": 1},
                                               {"field": "c", "operator": "gt"}],
                                       "case_sensitive": "yes"})"));
  ASSERT_EQ(errors.size(), 4u) << errors.dump();
  std::vector<std::string> locations;
  for (const Json& e : errors) locations.push_back(e["location"]);
  EXPECT_EQ(locations, (std::vector<std::string>{
                           "body.filters.case_sensitive", "body.filters.AND[0].operator",
                           "body.filters.AND[1].field", "body.filters.AND[2].value"}));
  EXPECT_EQ(errors[3]["type"], "missing");
}

TEST(FilterParse, StructuralErrors) {
  EXPECT_EQ(FirstError(R"([1])")["location"], "body.filters");
  EXPECT_EQ(FirstError(R"({"AND": {"a": 1}})")["location"], "body.filters.AND");
  EXPECT_EQ(FirstError(R"({"OR": [1]})")["location"], "body.filters.OR[0]");
  Json e = FirstError(R"({"field": "a", "value": 1, "op": "eq"})");
  EXPECT_EQ(e["location"], "body.filters.op");
  EXPECT_EQ(e["type"], "extra_forbidden");
  EXPECT_EQ(FirstError(R"({"field": "a", "operator": 3, "value": 1})")["location"],
            "body.filters.operator");
  EXPECT_EQ(FirstError(R"({"field": "a", "value": 1, "case_sensitive": 1})")["location"],
            "body.filters.case_sensitive");
}

TEST(FilterParse, LongValuesAreCutAtCharacterBoundaries) {
  std::string value;
  for (int i = 0; i < 100; ++i) value += "é";
  for (const Json& bad : {Json(value), Json::array({value})}) {
    Json e = Errors(Cond("a", "exists", bad))[0];
    EXPECT_NE(e["message"].get<std::string>().find("..."), std::string::npos);
    EXPECT_NO_THROW(e.dump());  // nlohmann throws on broken UTF-8
  }
}

TEST(FilterParse, FieldPaths) {
  EXPECT_EQ(FirstError(R"({"field": "", "value": 1})")["location"], "body.filters.field");
  EXPECT_NE(FirstError(R"({"field": "a..b", "value": 1})")["message"].get<std::string>().find(
                "'a..b'"),
            std::string::npos);
  EXPECT_EQ(FirstError(R"({"a\"b": 1})")["location"], "body.filters.a\"b");
  EXPECT_EQ(FirstError(R"({"field": "a\\b", "value": 1})")["location"], "body.filters.field");
  MustParse(R"({"field": "a b.ключ-1", "value": 1})");
}

TEST(FilterParse, ValueKinds) {
  EXPECT_EQ(FirstError(R"({"field": "a", "operator": "eq", "value": [1]})")["location"],
            "body.filters.value");
  EXPECT_NE(FirstError(R"({"tags": ["a"]})")["message"].get<std::string>().find("use 'in'"),
            std::string::npos);
  EXPECT_EQ(FirstError(R"({"field": "a", "operator": "gt", "value": true})")["type"],
            "type_error");
  FirstError(R"({"field": "a", "operator": "gt", "value": null})");
  FirstError(R"({"field": "a", "operator": "starts_with", "value": 1})");
  FirstError(R"({"field": "a", "operator": "exists", "value": "yes"})");
  FirstError(R"({"field": "a", "operator": "in", "value": "x"})");
  EXPECT_EQ(FirstError(R"({"field": "a", "operator": "nin", "value": [1, 2, {"x": 1}]})")
                ["location"], "body.filters.value[2]");
  EXPECT_NE(FirstError(R"({"field": "a", "operator": "text", "value": " !? "})")["message"]
                .get<std::string>().find("no words"),
            std::string::npos);
  // exists/is_null default to true.
  EXPECT_EQ(MustParse(R"({"field": "a", "operator": "exists"})").value, true);
  EXPECT_EQ(MustParse(R"({"field": "a", "operator": "is_null"})").value, true);
}

TEST(FilterParse, InListLimit) {
  Json list = Json::array();
  for (size_t i = 0; i < kMaxInValues; ++i) list.push_back(i);
  EXPECT_TRUE(Parse(Cond("a", "in", list)).ok());
  list.push_back(-1);
  Json e = Errors(Cond("a", "in", list))[0];
  EXPECT_NE(e["message"].get<std::string>().find("10000"), std::string::npos);
}

TEST(FilterParse, RegexIsCheckedAtParseTime) {
  EXPECT_NE(FirstError(R"({"field": "a", "operator": "regex", "value": "a("})")["message"]
                .get<std::string>().find("does not compile"),
            std::string::npos);
  EXPECT_TRUE(Parse(Cond("a", "regex", std::string(kMaxRegexLength, 'a'))).ok());
  Errors(Cond("a", "regex", std::string(kMaxRegexLength + 1, 'a')));
  Errors(Cond("a", "regex", "(a*)*\\1"));                    // back-reference
  Errors(Cond("a", "regex", "a{1,300}"));                    // bound above 255
  Errors(Cond("a", "regex", "((a{1,255}){1,255}){1,255}"));  // expands too far
  EXPECT_TRUE(Parse(Cond("a", "regex", "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")).ok());
  EXPECT_TRUE(Parse(Cond("a", "regex", "[[:alpha:]]{2,}|x{3}")).ok());
}

TEST(FilterParse, DepthLimit) {
  auto nested = [](int depth) {
    Json f = Cond("a", "eq", 1);
    for (int i = 0; i < depth; ++i) f = {{"AND", Json::array({f})}};
    return f;
  };
  EXPECT_TRUE(Parse(nested(16)).ok());
  Json e = Errors(nested(17))[0];
  EXPECT_NE(e["message"].get<std::string>().find("16"), std::string::npos);
  ParseOptions shallow;
  shallow.max_depth = 2;
  EXPECT_TRUE(Parse(nested(2), "f", shallow).ok());
  EXPECT_FALSE(Parse(nested(3), "f", shallow).ok());
}

TEST(FilterParse, ConditionLimit) {
  Json list = Json::array();
  for (int i = 0; i < 256; ++i) list.push_back(Cond("a", "eq", i));
  EXPECT_TRUE(Parse(Json{{"OR", list}}).ok());
  list.push_back(Cond("a", "eq", 256));
  Json errors = Errors(Json{{"OR", list}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["location"], "body.filters.OR[256]");
  // Shorthand conditions count too.
  ParseOptions two;
  two.max_conditions = 2;
  EXPECT_FALSE(Parse(Json::parse(R"({"a": 1, "b": 2, "c": 3})"), "f", two).ok());
}

TEST(FilterParse, DynamicValues) {
  Json dyn = Json::parse(R"({"field": "year", "value": {"type": "dynamic", "field": "INPUT.y"}})");
  Json e = Errors(dyn)[0];
  EXPECT_NE(e["message"].get<std::string>().find("dynamic values need a retriever context"),
            std::string::npos);
  EXPECT_EQ(e["location"], "body.filters.value");

  ParseOptions opts;
  std::vector<std::string> asked;
  opts.resolve_dynamic = [&](const std::string& field) -> Result<Json> {
    asked.push_back(field);
    if (field == "INPUT.missing") return Status::NotFound("no input 'missing'");
    return Json::array({2023, 2024});
  };
  Json in = Json::parse(R"({"AND": [{"field": "year", "operator": "in",
                                     "value": {"type": "dynamic", "field": "INPUT.y"}}],
                            "tag": {"type": "dynamic", "field": "INPUT.t"}})");
  // The shorthand resolves to a list, which eq rejects; the condition is fine.
  Json errors = Errors(in, opts);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["location"], "body.filters.tag");
  Result<Node> r = Parse(in["AND"][0], "f", opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value, Json::array({2023, 2024}));
  EXPECT_TRUE(Matches(*r, Json{{"year", 2024}}));

  Result<Node> missing = Parse(
      Json::parse(R"({"field": "a", "value": {"type": "dynamic", "field": "INPUT.missing"}})"),
      "f", opts);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(FilterParse, CaseSensitivityIsInherited) {
  Node n = MustParse(R"({"case_sensitive": true, "a": "x",
                         "OR": [{"b": "y"}, {"case_sensitive": false, "c": "z"},
                                {"field": "d", "value": "w", "case_sensitive": false}]})");
  ASSERT_EQ(n.kind, Node::Kind::kAnd);
  // Keys iterate sorted: OR, then a.
  const Node& orn = n.children[0];
  ASSERT_EQ(orn.kind, Node::Kind::kOr);
  EXPECT_TRUE(orn.children[0].case_sensitive);
  EXPECT_FALSE(orn.children[1].case_sensitive);
  EXPECT_FALSE(orn.children[2].case_sensitive);
  EXPECT_TRUE(n.children[1].case_sensitive);
  EXPECT_FALSE(MustParse(R"({"a": "x"})").case_sensitive);
}

TEST(FilterParse, OpNames) {
  EXPECT_EQ(OpName(Op::kStartsWith), "starts_with");
  EXPECT_EQ(OpName(Op::kIsNull), "is_null");
  EXPECT_EQ(OpName(Op::kText), "text");
}

// ---- Semantics -------------------------------------------------------------

TEST(FilterEval, EqualityAndCase) {
  EXPECT_TRUE(M(R"({"a": "Hello"})", R"({"a": "hELLO"})"));
  EXPECT_FALSE(M(R"({"a": "Hello", "case_sensitive": true})", R"({"a": "hello"})"));
  EXPECT_TRUE(M(R"({"a": "Hello", "case_sensitive": true})", R"({"a": "Hello"})"));
  // Only ASCII folds, as SQLite's lower().
  EXPECT_FALSE(M(R"({"a": "É"})", R"({"a": "é"})"));
  EXPECT_TRUE(M(R"({"a": "Éa"})", R"({"a": "ÉA"})"));
  EXPECT_FALSE(M(R"({"a": "x"})", R"({"b": "x"})"));  // missing
}

TEST(FilterEval, NumbersBooleansNull) {
  EXPECT_TRUE(M(R"({"a": 1})", R"({"a": 1.0})"));
  EXPECT_FALSE(M(R"({"a": 1})", R"({"a": true})"));
  EXPECT_FALSE(M(R"({"a": true})", R"({"a": 1})"));
  EXPECT_TRUE(M(R"({"a": true})", R"({"a": true})"));
  EXPECT_FALSE(M(R"({"a": "1"})", R"({"a": 1})"));
  EXPECT_TRUE(M(R"({"a": null})", R"({"a": null})"));
  EXPECT_FALSE(M(R"({"a": null})", R"({"b": 1})"));
  EXPECT_FALSE(M(R"({"a": null})", R"({"a": 0})"));
  // Exact integer/double comparison: 2^53 + 1 is not 2^53.
  EXPECT_FALSE(M(R"({"a": 9007199254740992.0})", R"({"a": 9007199254740993})"));
  EXPECT_TRUE(M(R"({"field": "a", "operator": "gt", "value": 9007199254740992.0})",
                R"({"a": 9007199254740993})"));
  EXPECT_TRUE(M(R"({"a": 18446744073709551615})", R"({"a": 1.8446744073709552e19})"));
}

TEST(FilterEval, NeAndNinMatchMissing) {
  EXPECT_TRUE(M(R"({"field": "a", "operator": "ne", "value": 1})", R"({})"));
  EXPECT_TRUE(M(R"({"field": "a", "operator": "ne", "value": 1})", R"({"a": "1"})"));
  EXPECT_FALSE(M(R"({"field": "a", "operator": "ne", "value": 1})", R"({"a": [2, 1]})"));
  EXPECT_TRUE(M(R"({"field": "a", "operator": "nin", "value": [1, 2]})", R"({})"));
  EXPECT_FALSE(M(R"({"field": "a", "operator": "nin", "value": ["X", 2]})", R"({"a": "x"})"));
  EXPECT_TRUE(M(R"({"field": "a", "operator": "nin", "value": []})", R"({"a": 1})"));
}

TEST(FilterEval, Ordering) {
  auto gt = [](const char* value, const char* doc) {
    return M(std::string(R"({"field": "a", "operator": "gt", "value": )") + value + "}", doc);
  };
  EXPECT_TRUE(gt("2", R"({"a": 2.5})"));
  EXPECT_FALSE(gt("2", R"({"a": 2})"));
  EXPECT_FALSE(gt("2", R"({"a": "3"})"));   // kinds differ
  EXPECT_FALSE(gt("\"a\"", R"({"a": 3})"));
  EXPECT_TRUE(gt("\"B\"", R"({"a": "a"})"));  // bytewise, not folded
  EXPECT_FALSE(gt("\"b\"", R"({"a": "B"})"));
  EXPECT_TRUE(gt("\"2024-01-01\"", R"({"a": "2024-06-30T00:00:00Z"})"));
  EXPECT_TRUE(gt("5", R"({"a": [1, 7]})"));
  EXPECT_FALSE(gt("5", R"({"a": [1, 5, "9"]})"));
  EXPECT_TRUE(M(R"({"field": "a", "operator": "gte", "value": 5})", R"({"a": 5.0})"));
  EXPECT_TRUE(M(R"({"field": "a", "operator": "lt", "value": -1})", R"({"a": -1.5})"));
  EXPECT_TRUE(M(R"({"field": "a", "operator": "lte", "value": "b"})", R"({"a": "b"})"));
  EXPECT_FALSE(M(R"({"field": "a", "operator": "lte", "value": 1})", R"({"a": null})"));
}

TEST(FilterEval, ArraysMatchAnyElement) {
  EXPECT_TRUE(M(R"({"tags": "AI"})", R"({"tags": ["ml", "ai"]})"));
  EXPECT_FALSE(M(R"({"tags": "a"})", R"({"tags": [["a"]]})"));  // one level only
  EXPECT_FALSE(M(R"({"tags": "a"})", R"({"tags": []})"));
  EXPECT_TRUE(M(R"({"field": "tags", "operator": "in", "value": ["x", "ML"]})",
                R"({"tags": ["ml", "ai"]})"));
  EXPECT_FALSE(M(R"({"field": "tags", "operator": "in", "value": []})", R"({"tags": ["ml"]})"));
  EXPECT_FALSE(M(R"({"a": 1})", R"({"a": {"x": 1}})"));  // objects never match
}

// A path steps into every object of an array it meets (filter.h), the way
// detections are stored: "objects": [{"label": ..., "score": ...}, ...].
TEST(FilterEval, PathsFanOutThroughArraysOfObjects) {
  const char* image = R"({"objects": [{"label": "person", "score": 0.8, "tags": ["adult", "outdoor"]},
                                      {"label": "Sports Ball", "score": 0.4}],
                          "meta": {"author": "Ann"}})";
  EXPECT_TRUE(M(R"({"field": "objects.label", "operator": "in", "value": ["sports ball"]})", image));
  EXPECT_FALSE(M(R"({"field": "objects.label", "operator": "in", "value": ["sports ball"],
                     "case_sensitive": true})", image));
  EXPECT_FALSE(M(R"({"field": "objects.label", "operator": "in", "value": ["car", "dog"]})", image));
  EXPECT_TRUE(M(R"({"objects.label": "PERSON"})", image));
  EXPECT_FALSE(M(R"({"objects.label": "car"})", image));
  EXPECT_TRUE(M(R"({"meta.author": "ann"})", image));  // plain objects as before
  // ne/nin are NOT eq/NOT in: one matching object is enough to exclude.
  EXPECT_FALSE(M(R"({"field": "objects.label", "operator": "ne", "value": "person"})", image));
  EXPECT_TRUE(M(R"({"field": "objects.label", "operator": "ne", "value": "car"})", image));
  EXPECT_FALSE(M(R"({"field": "objects.label", "operator": "nin", "value": ["dog", "sports ball"]})", image));
  EXPECT_TRUE(M(R"({"field": "objects.label", "operator": "nin", "value": ["dog"]})", image));
  EXPECT_TRUE(M(R"({"field": "objects.score", "operator": "gt", "value": 0.5})", image));
  EXPECT_FALSE(M(R"({"field": "objects.score", "operator": "gt", "value": 0.9})", image));
  EXPECT_TRUE(M(R"({"field": "objects.label", "operator": "starts_with", "value": "sports"})", image));
  // Conditions are separate: each may be satisfied by a different object.
  EXPECT_TRUE(M(R"({"AND": [{"objects.label": "sports ball"},
                            {"field": "objects.score", "operator": "gt", "value": 0.7}]})", image));
  // A reached array still matches by any element, one level.
  EXPECT_TRUE(M(R"({"objects.tags": "outdoor"})", image));
  EXPECT_TRUE(M(R"({"field": "objects.tags", "operator": "contains", "value": "adult"})", image));
  EXPECT_FALSE(M(R"({"objects.bbox": 1})", R"({"objects": [{"bbox": [[1, 2]]}]})"));
  EXPECT_TRUE(M(R"({"field": "objects.label", "operator": "text", "value": "ball person"})", image));
  EXPECT_FALSE(M(R"({"field": "objects.label", "operator": "text", "value": "ball dog"})", image));
}

TEST(FilterEval, FanOutExistsAndIsNull) {
  const char* some_null = R"({"objects": [{"label": null}, {"label": "cat"}]})";
  const char* some_missing = R"({"objects": [{"score": 1}, {"label": "cat"}]})";
  auto cond = [](const char* op, bool value) {
    return std::string(R"({"field": "objects.label", "operator": ")") + op + R"(", "value": )" +
           (value ? "true" : "false") + "}";
  };
  EXPECT_TRUE(M(cond("exists", true), some_missing));
  EXPECT_TRUE(M(cond("exists", true), R"({"objects": [{"label": null}]})"));  // null counts
  EXPECT_FALSE(M(cond("exists", true), R"({"objects": [{"score": 1}, "label"]})"));
  EXPECT_FALSE(M(cond("exists", true), R"({"objects": []})"));
  EXPECT_TRUE(M(cond("exists", false), R"({"objects": [{"score": 1}]})"));
  EXPECT_FALSE(M(cond("exists", false), some_missing));
  EXPECT_TRUE(M(cond("is_null", true), some_null));
  EXPECT_FALSE(M(cond("is_null", false), some_null));  // the negation of is_null
  EXPECT_FALSE(M(cond("is_null", true), some_missing));  // missing is not null
  EXPECT_TRUE(M(cond("is_null", false), some_missing));
}

TEST(FilterEval, FanOutNestsAndSkipsNonObjects) {
  // Arrays of objects inside arrays of objects fan out again at each level.
  const char* video = R"({"frames": [{"objects": [{"label": "cat"}]},
                                     {"objects": [{"label": "dog"}, {"label": "bird"}]},
                                     {"objects": {"label": "fish"}}]})";
  EXPECT_TRUE(M(R"({"frames.objects.label": "dog"})", video));
  EXPECT_TRUE(M(R"({"frames.objects.label": "fish"})", video));
  EXPECT_FALSE(M(R"({"frames.objects.label": "cow"})", video));
  EXPECT_FALSE(M(R"({"field": "frames.objects.label", "operator": "nin", "value": ["cat", "cow"]})", video));
  // Elements that are not objects contribute nothing, arrays of arrays included.
  const char* mixed = R"({"objects": ["person", 1, null, [{"label": "dog"}], {"label": "cat"}]})";
  EXPECT_TRUE(M(R"({"objects.label": "cat"})", mixed));
  EXPECT_FALSE(M(R"({"objects.label": "person"})", mixed));
  EXPECT_FALSE(M(R"({"objects.label": "dog"})", mixed));
  EXPECT_FALSE(M(R"({"grid.label": "dog"})", R"({"grid": [[{"label": "dog"}]]})"));
  EXPECT_FALSE(M(R"({"field": "grid.label", "operator": "exists"})", R"({"grid": [[{"label": "dog"}]]})"));
  EXPECT_TRUE(M(R"({"field": "grid.label", "operator": "ne", "value": "dog"})", R"({"grid": [[{"label": "dog"}]]})"));
  // A scalar on the way still makes the field missing.
  EXPECT_FALSE(M(R"({"field": "objects.label", "operator": "exists"})", R"({"objects": "person"})"));
  EXPECT_TRUE(M(R"({"field": "objects.label", "operator": "ne", "value": "person"})", R"({"objects": "person"})"));
}

TEST(FilterEval, Contains) {
  auto contains = [](const char* value, const char* doc, bool cs = false) {
    return M(std::string(R"({"field": "a", "operator": "contains", "case_sensitive": )") +
                 (cs ? "true" : "false") + R"(, "value": )" + value + "}",
             doc);
  };
  EXPECT_TRUE(contains("\"WORLD\"", R"({"a": "hello world"})"));
  EXPECT_FALSE(contains("\"WORLD\"", R"({"a": "hello world"})", true));
  EXPECT_TRUE(contains("\"\"", R"({"a": "x"})"));
  EXPECT_TRUE(contains("\"Ml\"", R"({"a": ["ml", "ai"]})"));
  EXPECT_FALSE(contains("\"m\"", R"({"a": ["ml", "ai"]})"));  // elements compare whole
  EXPECT_TRUE(contains("3", R"({"a": [1, 3.0]})"));
  EXPECT_FALSE(contains("3", R"({"a": 3})"));                // not an array or string
  EXPECT_FALSE(contains("\"3\"", R"({"a": 3})"));
  EXPECT_TRUE(contains("null", R"({"a": [null]})"));
}

TEST(FilterEval, StartsEndsWith) {
  EXPECT_TRUE(M(R"({"field": "a", "operator": "starts_with", "value": "HEL"})", R"({"a": "hello"})"));
  EXPECT_FALSE(M(R"({"field": "a", "operator": "starts_with", "value": "HEL", "case_sensitive": true})",
                 R"({"a": "hello"})"));
  EXPECT_TRUE(M(R"({"field": "a", "operator": "ends_with", "value": "LO"})", R"({"a": ["x", "hello"]})"));
  EXPECT_FALSE(M(R"({"field": "a", "operator": "ends_with", "value": "hello!"})", R"({"a": "hello"})"));
  EXPECT_TRUE(M(R"({"field": "a", "operator": "ends_with", "value": ""})", R"({"a": ""})"));
  EXPECT_FALSE(M(R"({"field": "a", "operator": "ends_with", "value": ""})", R"({"a": 1})"));
  EXPECT_TRUE(M(R"({"field": "a", "operator": "ends_with", "value": "é"})", R"({"a": "café"})"));
}

TEST(FilterEval, Regex) {
  EXPECT_TRUE(M(R"({"field": "a", "operator": "regex", "value": "^h.l+o$"})", R"({"a": "HELLO"})"));
  EXPECT_FALSE(M(R"({"field": "a", "operator": "regex", "value": "^h", "case_sensitive": true})",
                 R"({"a": "Hi"})"));
  EXPECT_TRUE(M(R"({"field": "a", "operator": "regex", "value": "[0-9]{3}"})", R"({"a": ["x", "a123"]})"));
  EXPECT_FALSE(M(R"({"field": "a", "operator": "regex", "value": "1"})", R"({"a": 1})"));
  // A long input must not exhaust the stack (std::regex would).
  Json doc = {{"a", std::string(1 << 20, 'a') + "b"}};
  EXPECT_TRUE(Matches(MustParse(R"({"field": "a", "operator": "regex", "value": "(a|b)+b$"})"), doc));
}

TEST(FilterEval, ExistsAndIsNull) {
  const char* doc = R"({"n": null, "v": 0, "o": {"p": null}})";
  EXPECT_TRUE(M(R"({"field": "n", "operator": "exists", "value": true})", doc));
  EXPECT_TRUE(M(R"({"field": "o.p", "operator": "exists"})", doc));
  EXPECT_FALSE(M(R"({"field": "x", "operator": "exists", "value": true})", doc));
  EXPECT_TRUE(M(R"({"field": "x", "operator": "exists", "value": false})", doc));
  EXPECT_TRUE(M(R"({"field": "n", "operator": "is_null", "value": true})", doc));
  EXPECT_FALSE(M(R"({"field": "v", "operator": "is_null", "value": true})", doc));
  EXPECT_FALSE(M(R"({"field": "x", "operator": "is_null", "value": true})", doc));
  EXPECT_TRUE(M(R"({"field": "x", "operator": "is_null", "value": false})", doc));
  EXPECT_FALSE(M(R"({"field": "n", "operator": "is_null", "value": false})", doc));
}

TEST(FilterEval, Text) {
  auto text = [](const char* query, const char* doc) {
    return M(std::string(R"({"field": "t", "operator": "text", "value": ")") + query + "\"}", doc);
  };
  EXPECT_TRUE(text("Quick FOX", R"({"t": "The quick, brown fox!"})"));
  EXPECT_FALSE(text("quick cat", R"({"t": "The quick, brown fox!"})"));
  EXPECT_FALSE(text("qui", R"({"t": "quick"})"));  // whole words only
  EXPECT_TRUE(text("machine python", R"({"t": ["Machine learning", "Python"]})"));
  EXPECT_TRUE(text("café", R"({"t": "Un café, s'il vous plaît"})"));
  EXPECT_FALSE(text("cafe", R"({"t": "café"})"));
  EXPECT_FALSE(text("x1", R"({"t": 1})"));
  EXPECT_EQ(TextTokens("Hello, WORLD-42 naïve"),
            (std::vector<std::string>{"hello", "world", "42", "naïve"}));
}

TEST(FilterEval, LogicalOperators) {
  const char* doc = R"({"a": 1, "b": 2})";
  EXPECT_TRUE(M(R"({"OR": [{"a": 5}, {"b": 2}]})", doc));
  EXPECT_FALSE(M(R"({"OR": [{"a": 5}, {"b": 5}]})", doc));
  EXPECT_TRUE(M(R"({"NOT": [{"a": 5}, {"b": 5}]})", doc));
  EXPECT_FALSE(M(R"({"NOT": [{"a": 5}, {"b": 2}]})", doc));  // NOT[a,b] = !a && !b
  EXPECT_FALSE(M(R"({"AND": [{"a": 1}], "OR": [{"b": 3}]})", doc));
  EXPECT_TRUE(M(R"({"AND": [{"a": 1}], "NOT": [{"b": 3}], "b": 2})", doc));
}

// ---- Regex cache -----------------------------------------------------------

TEST(RegexCache, SharedAndThreadSafe) {
  auto a = CompileRegex("^ab+c$", false);
  auto b = CompileRegex("^ab+c$", false);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
  auto cs = CompileRegex("^ab+c$", true);
  ASSERT_TRUE(cs.ok());
  EXPECT_NE(a->get(), cs->get());
  EXPECT_TRUE((*a)->Matches("ABBC"));
  EXPECT_FALSE((*cs)->Matches("ABBC"));

  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string p = "^x" + std::to_string((i + t) % 700) + "$";  // overflows the cache
        auto re = CompileRegex(p, i % 2 == 0);
        if (!re.ok() || !(*re)->Matches("x" + std::to_string((i + t) % 700))) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace strata::filter
