#include "retrieve/template.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace strata::retrieve {
namespace {

// A context with every namespace bound to fixed data.
class TemplateTest : public ::testing::Test {
 protected:
  Json input = Json::parse(R"({
    "query": "red shoes", "top_k": 10, "min_score": 0.5, "vec": [0.1, 0.2, 0.3],
    "tags": ["a", "b", "c"], "flag": true, "none": null, "empty": "", "Name": "MiXeD",
    "user": {"id": "u1", "prefs": {"lang": "en"}}, "items": [{"n": 1}, {"n": 2}],
    "special-key": 7, "page_size": 5, "big": 9223372036854775807
  })");
  Json doc = Json::parse(R"({
    "document_id": "d1", "score": 0.9, "media_type": "image", "status": "active",
    "payload": {"title": "Hello", "special-key": "sk", "tags": ["x", "y"]},
    "items": [10, 20, 30, 40, 50], "text": "héllo wörld"
  })");
  Json context = Json::parse(R"({"budget_remaining": 80, "time_elapsed_ms": 12, "namespace_id": "ns_1"})");
  Json stage = Json::parse(R"({"search": {"top_score": 0.75, "count": 3}})");
  Json secrets = Json::parse(R"({"api_key": "sk-secret"})");
  TemplateContext ctx{&input, &doc, &context, &stage, &secrets};

  Json Eval(std::string_view expr) {
    Result<Json> r = Evaluate(expr, ctx, "test");
    EXPECT_TRUE(r.ok()) << expr << ": " << r.status().ToString();
    return r.ok() ? *r : Json("<error>");
  }
  Json R(const Json& value) {
    Result<Json> r = Render(value, ctx, "test");
    EXPECT_TRUE(r.ok()) << value.dump() << ": " << r.status().ToString();
    return r.ok() ? *r : Json("<error>");
  }
  // The single validation error of an expression that must fail.
  Json EvalError(std::string_view expr) {
    Result<Json> r = Evaluate(expr, ctx, "retriever.stages[2].parameters.query");
    EXPECT_FALSE(r.ok()) << expr << " gave " << (r.ok() ? r->dump() : "");
    if (r.ok()) return Json::object();
    EXPECT_EQ(r.status().code(), StatusCode::kValidation);
    const Json& errors = r.status().details()["validation_errors"];
    EXPECT_EQ(errors.size(), 1u);
    return errors[0];
  }
  Json RenderError(const Json& value, std::string_view location = "body.stages[0].parameters") {
    Result<Json> r = Render(value, ctx, location);
    EXPECT_FALSE(r.ok()) << value.dump() << " gave " << (r.ok() ? r->dump() : "");
    if (r.ok()) return Json::object();
    return r.status().details()["validation_errors"][0];
  }
};

// ---- Typed rendering -------------------------------------------------------

TEST_F(TemplateTest, SingleExpressionKeepsItsType) {
  EXPECT_EQ(R("{{INPUT.top_k}}"), Json(10));
  EXPECT_TRUE(R("{{INPUT.top_k}}").is_number_integer());
  EXPECT_EQ(R("{{ INPUT.min_score }}"), Json(0.5));
  EXPECT_EQ(R("{{INPUT.vec}}"), Json::parse("[0.1, 0.2, 0.3]"));
  EXPECT_EQ(R("{{INPUT.user}}"), input["user"]);
  EXPECT_EQ(R("{{INPUT.flag}}"), Json(true));
  EXPECT_EQ(R("{{INPUT.none}}"), Json(nullptr));
  EXPECT_EQ(R("{{INPUT.missing}}"), Json(nullptr));
  EXPECT_EQ(R("{{INPUT.query}}"), Json("red shoes"));
  EXPECT_EQ(R("{{20 * inputs.page_size}}"), Json(100));
}

TEST_F(TemplateTest, MixedTextRendersAString) {
  EXPECT_EQ(R("q: {{INPUT.query}}!"), Json("q: red shoes!"));
  EXPECT_EQ(R("k={{INPUT.top_k}} s={{INPUT.min_score}} f={{INPUT.flag}}"), Json("k=10 s=0.5 f=true"));
  EXPECT_EQ(R("v={{INPUT.vec}}"), Json("v=[0.1,0.2,0.3]"));
  EXPECT_EQ(R("u={{INPUT.user.prefs}}"), Json(R"(u={"lang":"en"})"));
  EXPECT_EQ(R("[{{INPUT.missing}}]"), Json("[]"));  // null renders empty, like Jinja's undefined
  // Whitespace around a lone expression makes it text.
  EXPECT_EQ(R(" {{INPUT.top_k}}"), Json(" 10"));
  EXPECT_EQ(R("{{INPUT.top_k}}{{INPUT.top_k}}"), Json("1010"));
}

TEST_F(TemplateTest, PlainValuesPassThrough) {
  EXPECT_EQ(R("no templates here"), Json("no templates here"));
  EXPECT_EQ(R("{single} braces } and }} alone {"), Json("{single} braces } and }} alone {"));
  EXPECT_EQ(R("{INPUT.query}"), Json("{INPUT.query}"));
  EXPECT_EQ(R(42), Json(42));
  EXPECT_EQ(R(nullptr), Json(nullptr));
  EXPECT_EQ(R(Json::parse(R"({"a": [1, true, null, {"b": "x"}]})")), Json::parse(R"({"a": [1, true, null, {"b": "x"}]})"));
}

TEST_F(TemplateTest, RenderWalksNestedValues) {
  Json params = Json::parse(R"({
    "searches": [{"query": {"input_mode": "text", "text": "{{INPUT.query}}"}, "top_k": "{{INPUT.top_k}}"}],
    "final_top_k": "{{ INPUT.top_k * 2 }}",
    "label": "top {{INPUT.top_k}}",
    "{{INPUT.query}}": "keys are not rendered",
    "fixed": 3
  })");
  Json out = R(params);
  EXPECT_EQ(out["searches"][0]["query"]["text"], "red shoes");
  EXPECT_EQ(out["searches"][0]["top_k"], 10);
  EXPECT_EQ(out["final_top_k"], 20);
  EXPECT_EQ(out["label"], "top 10");
  EXPECT_EQ(out["{{INPUT.query}}"], "keys are not rendered");
  EXPECT_EQ(out["fixed"], 3);
}

TEST_F(TemplateTest, RenderedValuesAreNotRescanned) {
  Json in = Json::parse(R"({"q": "{{SECRET.api_key}}"})");
  TemplateContext c = ctx;
  c.input = &in;
  Result<Json> r = Render(Json("{{INPUT.q}}"), c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "{{SECRET.api_key}}");
}

// ---- Namespaces and paths --------------------------------------------------

TEST_F(TemplateTest, NamespacesAnyCase) {
  for (const char* root : {"INPUT", "input", "inputs", "INPUTS", "Input"}) {
    EXPECT_EQ(Eval(std::string(root) + ".query"), "red shoes") << root;
  }
  EXPECT_EQ(Eval("DOC.document_id"), "d1");
  EXPECT_EQ(Eval("doc.document_id"), "d1");
  EXPECT_EQ(Eval("CONTEXT.budget_remaining"), 80);
  EXPECT_EQ(Eval("context.namespace_id"), "ns_1");
  EXPECT_EQ(Eval("STAGE.search.top_score"), 0.75);
  EXPECT_EQ(Eval("stage.search.count"), 3);
  EXPECT_EQ(Eval("SECRET.api_key"), "sk-secret");
  EXPECT_EQ(Eval("secrets.api_key"), "sk-secret");
  EXPECT_EQ(Eval("INPUT"), input);
}

TEST_F(TemplateTest, PathsIndexesAndSlices) {
  EXPECT_EQ(Eval("INPUT.user.prefs.lang"), "en");
  EXPECT_EQ(Eval("INPUT.items[1].n"), 2);
  EXPECT_EQ(Eval("INPUT.items.0.n"), 1);
  EXPECT_EQ(Eval("INPUT.tags[-1]"), "c");
  EXPECT_EQ(Eval("INPUT.tags[INPUT.top_k - 9]"), "b");
  EXPECT_EQ(Eval("DOC.payload['special-key']"), "sk");
  EXPECT_EQ(Eval("INPUT[\"special-key\"]"), 7);
  EXPECT_EQ(Eval("DOC.items[:2]"), Json::parse("[10, 20]"));
  EXPECT_EQ(Eval("DOC.items[3:]"), Json::parse("[40, 50]"));
  EXPECT_EQ(Eval("DOC.items[-2:]"), Json::parse("[40, 50]"));
  EXPECT_EQ(Eval("DOC.items[1:-1]"), Json::parse("[20, 30, 40]"));
  EXPECT_EQ(Eval("DOC.items[4:2]"), Json::array());
  EXPECT_EQ(Eval("DOC.text[:5]"), "héllo");  // characters, not bytes
  EXPECT_EQ(Eval("DOC.text[1]"), "é");
  EXPECT_EQ(Eval("(INPUT.user).id"), "u1");
  EXPECT_EQ(Eval("[1, 2, 3][1]"), 2);
  EXPECT_EQ(Eval("'abc'[-1]"), "c");
  EXPECT_EQ(Eval("DOC.if"), nullptr);  // keywords are fine as field names
}

TEST_F(TemplateTest, MissingPathsAreNull) {
  EXPECT_EQ(Eval("INPUT.nope"), nullptr);
  EXPECT_EQ(Eval("INPUT.nope.deeper[3].x"), nullptr);
  EXPECT_EQ(Eval("INPUT.query.length"), nullptr);  // a member of a string
  EXPECT_EQ(Eval("INPUT.tags[10]"), nullptr);
  EXPECT_EQ(Eval("INPUT.tags[-10]"), nullptr);
  EXPECT_EQ(Eval("INPUT.top_k[0]"), nullptr);
  EXPECT_EQ(Eval("INPUT.tags[INPUT.nope]"), nullptr);
  EXPECT_EQ(Eval("INPUT.nope[1:2]"), nullptr);
}

TEST_F(TemplateTest, UnboundNamespaceIsAnError) {
  TemplateContext only_input;
  only_input.input = &input;
  Result<Json> r = Evaluate("DOC.score > 0.5", only_input, "retriever.stages[1].parameters.batch_size");
  ASSERT_FALSE(r.ok());
  const Json& e = r.status().details()["validation_errors"][0];
  EXPECT_EQ(e["location"], "retriever.stages[1].parameters.batch_size");
  EXPECT_EQ(e["type"], "value_error");
  EXPECT_NE(e["message"].get<std::string>().find("DOC is not available"), std::string::npos) << e;
  // Only evaluated branches count.
  r = Evaluate("INPUT.flag ? 1 : DOC.score", only_input);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 1);
}

// ---- Operators -------------------------------------------------------------

TEST_F(TemplateTest, Literals) {
  EXPECT_EQ(Eval("'single'"), "single");
  EXPECT_EQ(Eval("\"double\""), "double");
  EXPECT_EQ(Eval(R"('it\'s \"q\"\n\u00e9\ud83d\ude00')"), "it's \"q\"\né\xF0\x9F\x98\x80");
  EXPECT_EQ(Eval("42"), 42);
  EXPECT_EQ(Eval("1.5"), 1.5);
  EXPECT_EQ(Eval("1e3"), 1000.0);
  EXPECT_EQ(Eval("99999999999999999999"), 1e20);  // beyond int64: a double
  EXPECT_EQ(Eval("true"), true);
  EXPECT_EQ(Eval("False"), false);
  EXPECT_EQ(Eval("null"), nullptr);
  EXPECT_EQ(Eval("None"), nullptr);
  EXPECT_EQ(Eval("[1, 'a', [true], ]"), Json::parse(R"([1, "a", [true]])"));
  EXPECT_EQ(Eval("[]"), Json::array());
}

TEST_F(TemplateTest, Arithmetic) {
  EXPECT_EQ(Eval("1 + 2 * 3"), 7);
  EXPECT_EQ(Eval("(1 + 2) * 3"), 9);
  EXPECT_EQ(Eval("10 - 4 - 3"), 3);  // left-associative
  EXPECT_EQ(Eval("INPUT.top_k / 4"), 2.5);
  EXPECT_TRUE(Eval("INPUT.top_k / 5").is_number_float());  // / is true division
  EXPECT_EQ(Eval("INPUT.top_k // 3"), 3);
  EXPECT_EQ(Eval("-7 // 2"), -4);  // floors, like Python
  EXPECT_EQ(Eval("-7 % 3"), 2);
  EXPECT_EQ(Eval("7 % -3"), -2);
  EXPECT_EQ(Eval("7.5 % 2"), 1.5);
  EXPECT_EQ(Eval("0.5 + 1"), 1.5);
  EXPECT_EQ(Eval("-INPUT.top_k"), -10);
  EXPECT_EQ(Eval("+INPUT.min_score"), 0.5);
  EXPECT_EQ(Eval("--3"), 3);
  EXPECT_EQ(Eval("INPUT.big + 1"), 9223372036854775808.0);  // int64 overflow falls back to a double
  EXPECT_EQ(Eval("'a' + 'b'"), "ab");
  EXPECT_EQ(Eval("INPUT.tags + ['d']"), Json::parse(R"(["a","b","c","d"])"));
  EXPECT_EQ(Eval("'k=' ~ INPUT.top_k ~ INPUT.missing ~ INPUT.flag"), "k=10true");
}

TEST_F(TemplateTest, ComparisonsAndLogic) {
  EXPECT_EQ(Eval("INPUT.top_k == 10"), true);
  EXPECT_EQ(Eval("INPUT.top_k == 10.0"), true);
  EXPECT_EQ(Eval("INPUT.flag == 1"), false);  // booleans equal only booleans
  EXPECT_EQ(Eval("INPUT.missing == null"), true);
  EXPECT_EQ(Eval("INPUT.tags == ['a', 'b', 'c']"), true);
  EXPECT_EQ(Eval("DOC.media_type != 'video'"), true);
  EXPECT_EQ(Eval("DOC.score > 0.8"), true);
  EXPECT_EQ(Eval("DOC.score <= 0.8"), false);
  EXPECT_EQ(Eval("'abc' < 'abd'"), true);
  EXPECT_EQ(Eval("INPUT.missing > 1"), false);  // null never orders
  EXPECT_EQ(Eval("INPUT.missing <= 1"), false);
  EXPECT_EQ(Eval("'b' in INPUT.tags"), true);
  EXPECT_EQ(Eval("'z' not in INPUT.tags"), true);
  EXPECT_EQ(Eval("'shoe' in INPUT.query"), true);
  EXPECT_EQ(Eval("'prefs' in INPUT.user"), true);
  EXPECT_EQ(Eval("'x' in INPUT.missing"), false);
  EXPECT_EQ(Eval("DOC.media_type in ['image', 'video']"), true);
  EXPECT_EQ(Eval("INPUT.flag and DOC.score > 0.5"), true);
  EXPECT_EQ(Eval("INPUT.flag && !INPUT.flag"), false);
  EXPECT_EQ(Eval("not INPUT.flag or INPUT.top_k > 5"), true);
  EXPECT_EQ(Eval("not INPUT.top_k == 10"), false);  // not binds looser than ==
  // and/or return an operand, as in Jinja.
  EXPECT_EQ(Eval("INPUT.missing or 'all'"), "all");
  EXPECT_EQ(Eval("INPUT.query or 'all'"), "red shoes");
  EXPECT_EQ(Eval("INPUT.query and INPUT.top_k"), 10);
  EXPECT_EQ(Eval("INPUT.empty and INPUT.top_k"), "");
  // Short-circuit: the right side is not evaluated (it would be an error).
  EXPECT_EQ(Eval("INPUT.flag or INPUT.query - 1"), true);
}

TEST_F(TemplateTest, Ternaries) {
  EXPECT_EQ(Eval("CONTEXT.budget_remaining > 50 ? 200 : 50"), 200);
  EXPECT_EQ(R("{{CONTEXT.budget_remaining > 50 ? 200 : 50}}"), 200);
  EXPECT_EQ(Eval("DOC.media_type == 'image' ? 'image_url' : 'video_url'"), "image_url");
  EXPECT_EQ(Eval("'yes' if DOC.status == 'active' else 'no'"), "yes");
  EXPECT_EQ(Eval("'yes' if INPUT.missing else 'no'"), "no");
  EXPECT_EQ(Eval("'yes' if INPUT.missing"), nullptr);  // no else: null
  EXPECT_EQ(Eval("1 if INPUT.missing else 2 if INPUT.flag else 3"), 2);
  EXPECT_EQ(Eval("INPUT.missing ? 1 : INPUT.flag ? 2 : 3"), 2);
  EXPECT_EQ(Eval("(INPUT.top_k > 5 ? INPUT.top_k : 5) * 2"), 20);
}

TEST_F(TemplateTest, Filters) {
  EXPECT_EQ(Eval("INPUT.vec | tojson"), "[0.1,0.2,0.3]");
  EXPECT_EQ(Eval("INPUT.query | tojson"), "\"red shoes\"");
  EXPECT_EQ(Eval("INPUT.missing | tojson"), "null");
  EXPECT_EQ(R("{\"q\": {{INPUT.query | tojson}}}"), Json(R"({"q": "red shoes"})"));
  EXPECT_EQ(Eval("INPUT.missing | default(25)"), 25);
  EXPECT_EQ(Eval("INPUT.top_k | default(25)"), 10);
  EXPECT_EQ(Eval("INPUT.empty | default('x')"), "");
  EXPECT_EQ(Eval("INPUT.empty | default('x', true)"), "x");
  EXPECT_EQ(Eval("INPUT.missing | d('short')"), "short");
  EXPECT_EQ(Eval("INPUT.Name | lower"), "mixed");
  EXPECT_EQ(Eval("INPUT.Name | upper"), "MIXED");
  EXPECT_EQ(Eval("INPUT.missing | lower"), nullptr);
  EXPECT_EQ(Eval("'  pad ' | trim"), "pad");
  EXPECT_EQ(Eval("INPUT.tags | length"), 3);
  EXPECT_EQ(Eval("INPUT.user | length"), 2);
  EXPECT_EQ(Eval("DOC.text | length"), 11);  // characters
  EXPECT_EQ(Eval("INPUT.missing | length"), 0);
  EXPECT_EQ(Eval("INPUT.tags | count"), 3);
  EXPECT_EQ(Eval("INPUT.tags | join(', ')"), "a, b, c");
  EXPECT_EQ(Eval("INPUT.tags | join"), "abc");
  EXPECT_EQ(Eval("INPUT.vec | join('|')"), "0.1|0.2|0.3");
  EXPECT_EQ(Eval("INPUT.items | first"), Json::parse(R"({"n": 1})"));
  EXPECT_EQ(Eval("INPUT.tags | last"), "c");
  EXPECT_EQ(Eval("[] | first"), nullptr);
  EXPECT_EQ(Eval("-3 | abs"), -3);  // filters bind tighter than unary minus
  EXPECT_EQ(Eval("(-3) | abs"), 3);
  EXPECT_EQ(Eval("2.5 | round"), 3.0);
  EXPECT_EQ(Eval("-2.5 | round"), -3.0);
  EXPECT_EQ(Eval("3.14159 | round(2)"), 3.14);
  EXPECT_EQ(Eval("7 | round"), 7);
  EXPECT_EQ(Eval("'12' | int"), 12);
  EXPECT_EQ(Eval("' 3.7 ' | int"), 3);
  EXPECT_EQ(Eval("'abc' | int"), 0);
  EXPECT_EQ(Eval("'abc' | int(5)"), 5);
  EXPECT_EQ(Eval("INPUT.missing | int(5)"), 5);
  EXPECT_EQ(Eval("2.9 | int"), 2);
  EXPECT_EQ(Eval("'2.5' | float"), 2.5);
  EXPECT_EQ(Eval("3 | float"), 3.0);
  EXPECT_TRUE(Eval("3 | float").is_number_float());
  EXPECT_EQ(Eval("INPUT.top_k | string"), "10");
  EXPECT_EQ(Eval("INPUT.tags | bool"), true);
  EXPECT_EQ(Eval("INPUT.empty | bool"), false);
  // Chains, and filters inside arithmetic.
  EXPECT_EQ(Eval("INPUT.missing | default('ABC') | lower | length"), 3);
  EXPECT_EQ(Eval("1 + INPUT.tags | length"), 4);
  EXPECT_EQ(Eval("(INPUT.top_k * 1.26) | round(1)"), 12.6);
  EXPECT_EQ(Eval("INPUT.tags | join(INPUT.missing | default('-'))"), "a-b-c");
}

TEST_F(TemplateTest, TruthyForWhenConditions) {
  auto truthy = [&](std::string_view expr) {
    Result<bool> r = Truthy(expr, ctx, "stages[0].when");
    EXPECT_TRUE(r.ok()) << expr << ": " << r.status().ToString();
    return r.ok() && *r;
  };
  EXPECT_TRUE(truthy("DOC.score > 0.5"));
  EXPECT_FALSE(truthy("DOC.score > 0.95"));
  EXPECT_TRUE(truthy("{{ DOC.status == 'active' }}"));  // the braced form works too
  EXPECT_TRUE(truthy("INPUT.tags"));
  EXPECT_FALSE(truthy("INPUT.missing"));
  EXPECT_FALSE(truthy("INPUT.empty"));
  EXPECT_FALSE(truthy("0"));
  EXPECT_FALSE(truthy("0.0"));
  EXPECT_FALSE(truthy("[]"));
  EXPECT_TRUE(truthy("'0'"));
  EXPECT_FALSE(IsTruthy(Json::object()));
  EXPECT_TRUE(IsTruthy(Json::parse(R"({"a": 1})")));
}

// ---- Errors ----------------------------------------------------------------

TEST_F(TemplateTest, TypeErrorsNameExpressionAndColumn) {
  Json e = EvalError("INPUT.query - 1");
  EXPECT_EQ(e["location"], "retriever.stages[2].parameters.query");
  EXPECT_EQ(e["type"], "type_error");
  EXPECT_EQ(e["message"],
            "in expression \"INPUT.query - 1\" at column 13: operator '-' needs numbers, got string and integer");

  e = EvalError("INPUT.missing * 2");
  EXPECT_NE(e["message"].get<std::string>().find("got null and integer"), std::string::npos) << e;
  EXPECT_NE(e["message"].get<std::string>().find("default"), std::string::npos) << e;

  EXPECT_EQ(EvalError("'a' < 1")["type"], "type_error");
  EXPECT_EQ(EvalError("'a' + 1")["type"], "type_error");
  EXPECT_EQ(EvalError("-'a'")["type"], "type_error");
  EXPECT_EQ(EvalError("1 in 5")["type"], "type_error");
  EXPECT_EQ(EvalError("1 in 'abc'")["type"], "type_error");
  EXPECT_EQ(EvalError("INPUT.tags[1.5]")["type"], "type_error");
  EXPECT_EQ(EvalError("INPUT.top_k | lower")["type"], "type_error");
  EXPECT_EQ(EvalError("INPUT.top_k | length")["type"], "type_error");
  EXPECT_EQ(EvalError("INPUT.query | join(',')")["type"], "type_error");
  EXPECT_EQ(EvalError("INPUT.tags | join(1)")["type"], "type_error");
  EXPECT_EQ(EvalError("INPUT.query | abs")["type"], "type_error");
  EXPECT_EQ(EvalError("INPUT.top_k[1:'x']")["type"], "type_error");
  EXPECT_EQ(EvalError("INPUT.top_k[1:2]")["type"], "type_error");
  EXPECT_EQ(EvalError("1 / 0")["type"], "value_error");
  EXPECT_EQ(EvalError("1 // 0")["type"], "value_error");
  EXPECT_EQ(EvalError("1.5 % 0")["type"], "value_error");
  EXPECT_EQ(EvalError("1e308 * 10")["type"], "value_error");
}

TEST_F(TemplateTest, ErrorsNeverQuoteValues) {
  Json e = EvalError("SECRET.api_key - 1");
  EXPECT_EQ(e["message"].get<std::string>().find("sk-secret"), std::string::npos) << e;
}

TEST_F(TemplateTest, SyntaxErrors) {
  auto syntax = [&](std::string_view expr, std::string_view expect_in_message) {
    Json e = EvalError(expr);
    EXPECT_EQ(e["type"], "template_syntax") << expr << ": " << e;
    EXPECT_NE(e["message"].get<std::string>().find(expect_in_message), std::string::npos)
        << expr << ": " << e["message"];
  };
  syntax("FOO.bar", "unknown name 'FOO'");
  syntax("query", "unknown name 'query'");
  syntax("max(1, 2)", "function calls");
  syntax("INPUT.x | slugify", "unknown filter 'slugify'");
  syntax("INPUT.x | default", "takes 1 to 2 arguments, got 0");
  syntax("INPUT.x | lower(1)", "takes 0 arguments, got 1");
  syntax("INPUT.x |", "expected a filter name");
  syntax("1 +", "expected a value, found the end of the expression");
  syntax("(1 + 2", "expected ')'");
  syntax("INPUT.tags[0", "expected ']'");
  syntax("INPUT.tags[::2]", "slice steps");
  syntax("a ? 1", "unknown name 'a'");
  syntax("INPUT.a ? 1", "expected ':'");
  syntax("1 < 2 < 3", "do not chain");
  syntax("INPUT.a = 1", "'=='");
  syntax("'open", "unterminated string");
  syntax("1 2", "unexpected number 2");
  syntax("INPUT.", "expected a field name after '.'");
  syntax("@", "unexpected character '@'");
  syntax("", "empty expression");
  syntax("and", "expected a value, found 'and'");
  syntax("12abc", "after a number");
  syntax("'\\ud83d'", "surrogate");
  syntax("INPUT.x }}", "unexpected '}}'");
  // Unknown names are compile errors even in a branch never taken.
  syntax("INPUT.flag ? 1 : nope", "unknown name 'nope'");
}

TEST_F(TemplateTest, TemplateSyntaxErrorsCarryLocationAndColumn) {
  Json e = RenderError(Json::parse(R"({"searches": [{"query": "find {{ INPUT.q +* 2 }} now"}]})"));
  EXPECT_EQ(e["location"], "body.stages[0].parameters.searches[0].query");
  EXPECT_EQ(e["type"], "template_syntax");
  EXPECT_EQ(e["message"], "in expression \"INPUT.q +* 2\" at column 18: expected a value, found '*'");

  e = RenderError("text {{ INPUT.q ");
  EXPECT_NE(e["message"].get<std::string>().find("missing '}}'"), std::string::npos) << e;
  e = RenderError("{{ }}");
  EXPECT_NE(e["message"].get<std::string>().find("empty expression"), std::string::npos) << e;
  e = RenderError("{% if INPUT.x %}a{% endif %}");
  EXPECT_NE(e["message"].get<std::string>().find("statements are not supported"), std::string::npos) << e;
  e = RenderError("{{ {'a': 1} }}");
  EXPECT_NE(e["message"].get<std::string>().find("unexpected character '{'"), std::string::npos) << e;
  // Columns count characters, not bytes.
  e = RenderError("héllo {{ INPUT.query - 1 }}", "");
  EXPECT_EQ(e["location"], "");
  EXPECT_EQ(e["message"],
            "in expression \"INPUT.query - 1\" at column 22: operator '-' needs numbers, got string and integer");
}

TEST_F(TemplateTest, LiteralBracesThroughStrings) {
  EXPECT_EQ(R("{{ '{{' }} x {{ '}}' }}"), Json("{{ x }}"));
  EXPECT_EQ(R("{{ INPUT.query ~ '}}' }}"), Json("red shoes}}"));
}

TEST_F(TemplateTest, HostileNestingIsRejectedNotCrashed) {
  std::string deep(5000, '(');
  deep += "1" + std::string(5000, ')');
  EXPECT_EQ(EvalError(deep)["type"], "template_syntax");
  std::string negs(5000, '-');
  EXPECT_EQ(EvalError(negs + "1")["type"], "template_syntax");
  std::string chain = "1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  Json e = EvalError(chain);
  EXPECT_NE(e["message"].get<std::string>().find("too long"), std::string::npos) << e;
  // The quoted expression is cut short.
  EXPECT_LT(e["message"].get<std::string>().size(), 300u);
  std::string ok = "1";
  for (int i = 0; i < 100; ++i) ok += " + 1";
  EXPECT_EQ(Eval(ok), 101);
}

// ---- Compiled templates ----------------------------------------------------

TEST_F(TemplateTest, CompiledTemplateReportsShape) {
  Result<Template> t = Template::Compile("{{DOC.score}} / {{INPUT.top_k}} / {{ctx_free}}", "x");
  EXPECT_FALSE(t.ok());  // ctx_free is not a namespace

  t = Template::Compile("{{DOC.score > 0.5 ? INPUT.a : STAGE.b}}");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(t->has_expressions());
  EXPECT_TRUE(t->is_single_expression());
  EXPECT_TRUE(t->Uses(Namespace::kDoc));
  EXPECT_TRUE(t->Uses(Namespace::kInput));
  EXPECT_TRUE(t->Uses(Namespace::kStage));
  EXPECT_FALSE(t->Uses(Namespace::kContext));
  EXPECT_FALSE(t->Uses(Namespace::kSecret));

  t = Template::Compile("plain");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->has_expressions());
  EXPECT_FALSE(t->is_single_expression());
  EXPECT_EQ(t->namespaces(), 0u);
  EXPECT_EQ(*t->Render(ctx), "plain");

  Result<Template> e = Template::CompileExpression("  {{ INPUT.top_k }}  ");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(*e->Render(ctx), 10);
  EXPECT_FALSE(Template::CompileExpression("{{ INPUT.a }} and {{ INPUT.b }}").ok());
}

TEST_F(TemplateTest, CompileOnceRenderPerDocument) {
  Json params = Json::parse(R"({
    "field": "{{DOC.media_type == 'image' ? 'image_url' : 'video_url'}}",
    "criteria": "{{inputs.query}}", "n": 5, "list": ["{{DOC.document_id}}", "lit"]
  })");
  Result<JsonTemplate> t = JsonTemplate::Compile(params, "stages[0].parameters");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(t->has_expressions());
  EXPECT_TRUE(t->Uses(Namespace::kDoc));
  EXPECT_TRUE(t->Uses(Namespace::kInput));
  EXPECT_FALSE(t->Uses(Namespace::kStage));

  std::vector<Json> docs = {Json::parse(R"({"document_id": "a", "media_type": "image"})"),
                            Json::parse(R"({"document_id": "b", "media_type": "video"})")};
  std::vector<Json> out;
  for (const Json& d : docs) {
    TemplateContext c = ctx;
    c.doc = &d;
    Result<Json> r = t->Render(c);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    out.push_back(*r);
  }
  EXPECT_EQ(out[0], Json::parse(R"({"field": "image_url", "criteria": "red shoes", "n": 5, "list": ["a", "lit"]})"));
  EXPECT_EQ(out[1], Json::parse(R"({"field": "video_url", "criteria": "red shoes", "n": 5, "list": ["b", "lit"]})"));

  // Errors at render time name the path inside the value.
  TemplateContext no_doc;
  no_doc.input = &input;
  Result<Json> r = t->Render(no_doc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().details()["validation_errors"][0]["location"], "stages[0].parameters.field");

  Result<JsonTemplate> bad = JsonTemplate::Compile(Json::parse(R"({"a": {"b": ["ok", "{{ nope }}"]}})"), "p");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().details()["validation_errors"][0]["location"], "p.a.b[1]");

  Result<JsonTemplate> plain = JsonTemplate::Compile(Json::parse(R"({"a": "x"})"));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->has_expressions());
  EXPECT_EQ(*plain->Render(TemplateContext{}), Json::parse(R"({"a": "x"})"));

  Result<JsonTemplate> root = JsonTemplate::Compile(Json("{{INPUT.vec}}"));
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root->Render(ctx), input["vec"]);
}

TEST_F(TemplateTest, CompiledTemplatesAreSharedAcrossThreads) {
  Result<Template> t = Template::Compile("{{DOC.n * 2}}-{{INPUT.query | upper}}");
  ASSERT_TRUE(t.ok());
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 500; ++i) {
        Json d = {{"n", i}};
        TemplateContext c = ctx;
        c.doc = &d;
        Result<Json> r = t->Render(c);
        if (!r.ok() || *r != std::to_string(i * 2) + "-RED SHOES") ++bad[w];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace strata::retrieve
