// The template engine of retriever pipelines (Mixpeek v0.81 "Jinja2"
// templating, the subset its docs use): stage parameters, `when` conditions
// and prompts say `{{INPUT.query}}`, `{{DOC.score > 0.8 ? 'hi' : 'lo'}}`,
// `{{STAGE.search.top_score}}`. This is the one implementation; everything
// that substitutes `{{ }}` goes through it.
//
// Text
//   A template string is literal text with `{{ expression }}` parts. Literal
//   text is copied as is (a lone `}}` or `{` included). `{% ... %}` statement
//   blocks are not supported and are a syntax error rather than silently left
//   in place; to emit a literal `{{`, write `{{ '{{' }}`. There is no
//   whitespace control (`{{-`): `{{-1}}` is minus one. Single-brace
//   `{INPUT.x}` is plain text. Rendered values are never scanned again, so an
//   input holding "{{...}}" is just text.
//
// Expression grammar (lowest precedence first)
//   expr     := or_expr [ "if" or_expr [ "else" expr ] ]      Jinja conditional
//             | or_expr "?" expr ":" expr                       C-style ternary
//   or_expr  := and_expr { ("or" | "||") and_expr }
//   and_expr := not_expr { ("and" | "&&") not_expr }
//   not_expr := ("not" | "!") not_expr | compare
//   compare  := sum [ ("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") sum ]
//   sum      := product { ("+" | "-" | "~") product }
//   product  := unary { ("*" | "/" | "//" | "%") unary }
//   unary    := ("-" | "+") unary | filtered
//   filtered := postfix { "|" NAME [ "(" [ expr { "," expr } ] ")" ] }
//   postfix  := primary { "." NAME | "." INTEGER | "[" index "]" }
//   index    := expr | [expr] ":" [expr]                        (a slice)
//   primary  := NAMESPACE | literal | "(" expr ")" | "[" [ expr { "," expr } ] "]"
//   literal  := 'text' | "text" | 12 | 1.5 | 1e3 | true | false | null
//               (True/False/None/none too; strings take \n \t \r \\ \' \" \/ \uXXXX)
//   NAMESPACE, case-insensitive: INPUT|INPUTS (the execute inputs), DOC (the
//   current document), CONTEXT (the execution context), STAGE (stage
//   outputs/parameters), SECRET|SECRETS (vault secrets). Any other bare name
//   is an error at compile time.
//   A comparison does not chain (`a < b < c` is a syntax error: use `and`).
//   Filters bind tighter than operators, as in Jinja: `1 + x | abs` is
//   `1 + (x | abs)`, and `(a * 2) | round` needs its parentheses.
//
// Semantics
//   - Values are JSON. A path step that is missing, or that reads a member of
//     something that is not an object (an element of something that is not an
//     array or string), is null: missing data is null, so `| default(x)`
//     works. Negative indexes count from the end; slices are Python's.
//   - A namespace the caller did not bind (TemplateContext field left null) is
//     an error when evaluated, not null: a stage parameter that reads DOC must
//     be rendered per document, and saying so beats rendering nulls.
//   - == and != compare JSON values (1 == 1.0; true != 1; null == null).
//     < <= > >= order two numbers or two strings (bytewise); when either side
//     is null the comparison is false (a document lacking the field is not an
//     error for `when`); any other mix is a type error.
//   - `x in y`: y an array (some element == x), a string (x a substring), an
//     object (x a key) or null (false); anything else is a type error.
//   - Arithmetic wants numbers: + - * % // keep integers integral (falling
//     back to a double on int64 overflow), / always gives a double (Python 3),
//     % and // floor like Python, division by zero is an error. + also joins
//     two strings or two arrays. ~ stringifies both sides and joins them.
//     null in arithmetic is a type error (hint: `| default`).
//   - and/or short-circuit and return an operand (`INPUT.q or 'all'`), not /
//     ! returns a boolean. Truthiness is Jinja's: null, false, 0, 0.0, "", []
//     and {} are false, everything else true.
//   - Filters: tojson (compact JSON text), default(v[, also_falsy]) / d (v when
//     the value is null, or any falsy value when also_falsy is true), lower,
//     upper, trim (ASCII; null stays null), length / count (strings in UTF-8
//     characters, arrays, objects; null is 0), join([sep]) (array items
//     stringified as in text, null stays null), first, last, abs,
//     round([ndigits]) (half away from zero; integers stay as they are),
//     int([d]), float([d]) (unparsable, null or non-scalar → d, default 0),
//     string (as in text), bool (truthiness). An unknown filter, or a wrong
//     number of arguments, is a compile error.
//
// Rendering
//   A string that is exactly one `{{ expression }}` (nothing around it, not
//   even spaces) renders to the expression's typed JSON value:
//   "{{INPUT.top_k}}" gives 10, "{{INPUT.vec}}" an array. Any other string
//   renders to a string: strings as is, null as "" (Jinja's undefined),
//   booleans/numbers as JSON ("true", "1.5"), arrays/objects as compact JSON.
//   A string without `{{` (or `{%`) is returned unchanged. Object keys are
//   never rendered, only string values at any depth.
//
// Errors
//   Status::Invalid at the caller's location (e.g.
//   "retriever.stages[2].parameters.query"; Render appends the path inside the
//   value) with a message quoting the expression and the column (1-based, in
//   characters of the template string), e.g.
//     in expression "INPUT.q - 1" at column 11: operator '-' needs numbers, got string and integer
//   Types: "template_syntax" (compile errors: syntax, unknown namespace or
//   filter), "type_error", "value_error" (division by zero, unbound
//   namespace). Messages name value types, never values: a SECRET or a large
//   document must not end up in an error envelope.
//
// Cost: compile once, render many. Template / JsonTemplate are immutable after
// Compile, cheap to copy (shared) and safe to use from several threads at once.
// Rendering is linear in the template plus the data it copies out; path steps
// read the bound JSON in place and copy only the final value.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::retrieve {

// The root namespaces, as bits of Template::namespaces().
enum class Namespace : unsigned {
  kInput = 1u << 0,
  kDoc = 1u << 1,
  kContext = 1u << 2,
  kStage = 1u << 3,
  kSecret = 1u << 4,
};

// What a template may read. The pointed-to values are owned by the caller and
// must outlive the Render/Evaluate call; a null pointer means "not available
// here" (an error if an evaluated expression reads it).
struct TemplateContext {
  const Json* input = nullptr;    // INPUT / inputs / input
  const Json* doc = nullptr;      // DOC / doc
  const Json* context = nullptr;  // CONTEXT / context
  const Json* stage = nullptr;    // STAGE / stage
  const Json* secrets = nullptr;  // SECRET / secret / secrets
};

// Jinja truthiness of a JSON value (see Semantics above).
bool IsTruthy(const Json& value);

// One compiled template string (or a bare expression).
class Template {
 public:
  // Compiles template text with `{{ }}` parts. `location` is where errors,
  // now and at render time, are reported.
  static Result<Template> Compile(std::string_view text, std::string_view location = "");
  // Compiles a bare expression ("DOC.score > 0.5"), for `when` conditions and
  // computed values. Text that is exactly one `{{ expression }}` is accepted
  // too, so a condition may be written either way.
  static Result<Template> CompileExpression(std::string_view expr, std::string_view location = "");

  // The rendered value: typed when the template is one expression, otherwise a
  // string (see Rendering above).
  Result<Json> Render(const TemplateContext& ctx) const;
  // IsTruthy(Render(ctx)).
  Result<bool> Truthy(const TemplateContext& ctx) const;

  // False for text without any expression (rendering returns it unchanged).
  bool has_expressions() const;
  // True when the template is exactly one expression (renders typed).
  bool is_single_expression() const;
  // Bitwise OR of the Namespace values the template mentions (in any branch),
  // e.g. to tell per-document parameters (kDoc) from per-execution ones.
  unsigned namespaces() const;
  bool Uses(Namespace ns) const { return (namespaces() & static_cast<unsigned>(ns)) != 0; }
  const std::string& text() const;

 private:
  struct Program;
  explicit Template(std::shared_ptr<const Program> program) : program_(std::move(program)) {}
  std::shared_ptr<const Program> program_;
};

// A JSON value (stage parameters, a request body template) with every string
// compiled once; rendering substitutes them all.
class JsonTemplate {
 public:
  // Errors are reported at `location` plus the path inside the value, e.g.
  // location "retriever.stages[2].parameters" and value {"query": "{{x}}"}
  // give "retriever.stages[2].parameters.query".
  static Result<JsonTemplate> Compile(const Json& value, std::string_view location = "");

  // A copy of the value with every templated string rendered.
  Result<Json> Render(const TemplateContext& ctx) const;

  bool has_expressions() const { return !slots_.empty(); }
  unsigned namespaces() const { return namespaces_; }
  bool Uses(Namespace ns) const { return (namespaces_ & static_cast<unsigned>(ns)) != 0; }

 private:
  struct Slot {
    Json::json_pointer pointer;  // where the string sits inside value_
    Template tmpl;
  };
  std::shared_ptr<const Json> value_;
  std::vector<Slot> slots_;
  unsigned namespaces_ = 0;
};

// One-shot conveniences: compile and run. Callers that render the same
// template for many documents should compile once instead.
Result<Json> Render(const Json& value, const TemplateContext& ctx, std::string_view location = "");
Result<Json> Evaluate(std::string_view expr, const TemplateContext& ctx, std::string_view location = "");
Result<bool> Truthy(std::string_view expr, const TemplateContext& ctx, std::string_view location = "");

}  // namespace strata::retrieve
