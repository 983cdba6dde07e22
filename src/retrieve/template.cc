#include "retrieve/template.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace strata::retrieve {

// The compiled form. Kept out of the anonymous namespace because
// Template::Program (declared in the header) holds these.
namespace template_internal {

enum class NodeKind {
  kLiteral,  // literal
  kRoot,     // ns
  kMember,   // kids[0].name
  kIndex,    // kids[0][kids[1]]
  kSlice,    // kids[0][kids[1]:kids[2]], either bound may be null
  kList,     // [kids...]
  kNeg,
  kPos,
  kNot,
  kArith,    // kids[0] op kids[1]
  kCompare,  // kids[0] op kids[1]
  kIn,       // kids[0] in kids[1]; negate for `not in`
  kAnd,
  kOr,
  kTernary,  // kids[1] if kids[0] else kids[2] (kids[2] may be null)
  kFilter,   // kids[0] | filter(kids[1..])
};

enum class ArithOp { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kConcat };
enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };
enum class FilterKind {
  kToJson, kDefault, kLower, kUpper, kTrim, kLength, kJoin, kFirst, kLast,
  kAbs, kRound, kInt, kFloat, kString, kBool,
};

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  size_t pos = 0;  // byte offset of the token that names the node, for errors
  int height = 1;  // evaluation recursion depth below and including this node
  Json literal;
  Namespace ns = Namespace::kInput;
  std::string name;  // member name, operator or filter spelling (for messages)
  ArithOp arith = ArithOp::kAdd;
  CompareOp compare = CompareOp::kEq;
  FilterKind filter = FilterKind::kToJson;
  bool negate = false;
  std::vector<std::unique_ptr<Node>> kids;
};
using NodePtr = std::unique_ptr<Node>;

}  // namespace template_internal

using template_internal::ArithOp;
using template_internal::CompareOp;
using template_internal::FilterKind;
using template_internal::Node;
using template_internal::NodeKind;
using template_internal::NodePtr;

struct Template::Program {
  struct Part {
    std::string literal;  // text before the expression (or all of it)
    NodePtr expr;         // null for a trailing literal
    size_t begin = 0;     // the expression's text inside `text`, for messages
    size_t end = 0;
  };
  std::string text;
  std::string location;
  std::vector<Part> parts;
  unsigned namespaces = 0;
  bool single = false;  // one expression, nothing around it: renders typed
};

namespace {

// Deep enough for any hand-written expression; bounded so that a hostile
// template cannot exhaust the stack of the parser or of the evaluator (a long
// `1+1+...` chain is a tall tree without deep parser recursion, hence both).
constexpr int kMaxParseDepth = 64;
constexpr int kMaxNodeHeight = 256;
constexpr size_t kMaxQuotedChars = 120;

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t CountChars(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += IsContinuationByte(c) ? 0 : 1;
  return n;
}

// Cuts at a character boundary: messages end up in JSON, and nlohmann refuses
// to serialize broken UTF-8.
std::string Truncate(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t cut = max_bytes;
  while (cut > 0 && IsContinuationByte(s[cut])) --cut;
  return std::string(s.substr(0, cut)) + "...";
}

std::string_view TrimView(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

// Where an error is: the template text, the expression's span in it (npos
// when the error is not inside an expression) and the caller's location.
struct Where {
  std::string_view text;
  std::string_view location;
  size_t expr_begin = std::string_view::npos;
  size_t expr_end = std::string_view::npos;
};

Status MakeError(const Where& w, size_t pos, std::string_view what, const char* type) {
  pos = std::min(pos, w.text.size());
  std::string column = std::to_string(CountChars(w.text.substr(0, pos)) + 1);
  std::string msg;
  if (w.expr_begin != std::string_view::npos) {
    size_t end = std::min(w.expr_end, w.text.size());
    std::string_view expr = TrimView(w.text.substr(w.expr_begin, end - w.expr_begin));
    msg = "in expression \"" + Truncate(expr, kMaxQuotedChars) + "\" at column " + column + ": ";
  } else {
    msg = "in template \"" + Truncate(w.text, kMaxQuotedChars) + "\" at column " + column + ": ";
  }
  msg += what;
  return Status::Invalid(std::string(w.location), msg, type);
}

// ---- Lexer -----------------------------------------------------------------

enum class TokKind { kName, kInt, kFloat, kString, kOp, kEnd };

struct Token {
  TokKind kind = TokKind::kEnd;
  size_t pos = 0;
  std::string text;  // name, operator, or the decoded string literal
  int64_t int_value = 0;
  double float_value = 0;
};

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameChar(char c) { return IsNameStart(c) || IsDigit(c); }

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Operators, longest first so that "//" wins over "/" and "==" over "=".
constexpr std::array<std::string_view, 25> kOperators = {
    "==", "!=", "<=", ">=", "//", "&&", "||", "<", ">", "!", "+", "-", "*",
    "/",  "%",  "~",  "(",  ")",  "[",  "]",  ".", ",", "|", "?", ":",
};

class Lexer {
 public:
  // template_mode: the expression ends at "}}"; otherwise at the end of text.
  Lexer(const Where& where, bool template_mode) : w_(where), template_mode_(template_mode) {}

  // Lexes from `pos`; the tokens end with one kEnd. *end is the offset just
  // past the "}}" (template mode) or the text size.
  Status Run(size_t pos, std::vector<Token>* out, size_t* end) {
    std::string_view s = w_.text;
    while (true) {
      while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) ++pos;
      Token t;
      t.pos = pos;
      if (pos >= s.size()) {
        if (template_mode_) return Error(pos, "missing '}}' to close '{{'");
        t.kind = TokKind::kEnd;
        out->push_back(std::move(t));
        *end = pos;
        return Status::Ok();
      }
      char c = s[pos];
      if (c == '}') {
        if (pos + 1 < s.size() && s[pos + 1] == '}') {
          if (!template_mode_) return Error(pos, "unexpected '}}' (a bare expression has no braces)");
          t.kind = TokKind::kEnd;
          t.text = "}}";
          out->push_back(std::move(t));
          *end = pos + 2;
          return Status::Ok();
        }
        return Error(pos, "unexpected '}'");
      }
      if (IsNameStart(c)) {
        size_t b = pos;
        while (pos < s.size() && IsNameChar(s[pos])) ++pos;
        t.kind = TokKind::kName;
        t.text = std::string(s.substr(b, pos - b));
      } else if (IsDigit(c)) {
        RETURN_IF_ERROR(Number(&pos, &t));
      } else if (c == '\'' || c == '"') {
        RETURN_IF_ERROR(String(&pos, &t));
      } else {
        bool found = false;
        for (std::string_view op : kOperators) {
          if (s.substr(pos, op.size()) == op) {
            t.kind = TokKind::kOp;
            t.text = std::string(op);
            pos += op.size();
            found = true;
            break;
          }
        }
        if (!found) {
          if (c == '=') return Error(pos, "unexpected '=' (comparison is '==')");
          size_t len = 1;
          while (pos + len < s.size() && IsContinuationByte(s[pos + len])) ++len;
          return Error(pos, "unexpected character '" + std::string(s.substr(pos, len)) + "'");
        }
      }
      out->push_back(std::move(t));
    }
  }

 private:
  Status Error(size_t pos, std::string what) {
    return MakeError(w_, pos, what, "template_syntax");
  }

  Status Number(size_t* pos, Token* t) {
    std::string_view s = w_.text;
    size_t b = *pos, p = *pos;
    bool is_float = false;
    while (p < s.size() && IsDigit(s[p])) ++p;
    // "items.0.name": a '.' is part of the number only when a digit follows.
    if (p + 1 < s.size() && s[p] == '.' && IsDigit(s[p + 1])) {
      is_float = true;
      ++p;
      while (p < s.size() && IsDigit(s[p])) ++p;
    }
    if (p < s.size() && (s[p] == 'e' || s[p] == 'E')) {
      size_t q = p + 1;
      if (q < s.size() && (s[q] == '+' || s[q] == '-')) ++q;
      if (q < s.size() && IsDigit(s[q])) {
        is_float = true;
        p = q;
        while (p < s.size() && IsDigit(s[p])) ++p;
      }
    }
    if (p < s.size() && IsNameStart(s[p])) return Error(p, "unexpected character after a number");
    std::string_view digits = s.substr(b, p - b);
    t->text = std::string(digits);
    *pos = p;
    if (!is_float) {
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(), t->int_value);
      if (r.ec == std::errc()) {
        t->kind = TokKind::kInt;
        return Status::Ok();
      }
      // Beyond int64: a double, as JSON parsers do.
    }
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), t->float_value);
    if (r.ec != std::errc() || !std::isfinite(t->float_value)) return Error(b, "number out of range");
    t->kind = TokKind::kFloat;
    return Status::Ok();
  }

  Status String(size_t* pos, Token* t) {
    std::string_view s = w_.text;
    char quote = s[*pos];
    size_t p = *pos + 1;
    std::string out;
    while (true) {
      if (p >= s.size()) return Error(*pos, "unterminated string literal");
      char c = s[p];
      if (c == quote) {
        ++p;
        break;
      }
      if (c != '\\') {
        out.push_back(c);
        ++p;
        continue;
      }
      if (p + 1 >= s.size()) return Error(*pos, "unterminated string literal");
      char e = s[p + 1];
      p += 2;
      switch (e) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case '\\': out.push_back('\\'); break;
        case '\'': out.push_back('\''); break;
        case '"': out.push_back('"'); break;
        case '/': out.push_back('/'); break;
        case 'u': {
          std::optional<uint32_t> cp = Hex4(p);
          if (!cp) return Error(p - 2, "\\u needs four hex digits");
          p += 4;
          if (*cp >= 0xD800 && *cp <= 0xDBFF) {
            std::optional<uint32_t> lo;
            if (p + 1 < s.size() && s[p] == '\\' && s[p + 1] == 'u') lo = Hex4(p + 2);
            if (!lo || *lo < 0xDC00 || *lo > 0xDFFF) return Error(p - 6, "unpaired UTF-16 surrogate in \\u escape");
            cp = 0x10000 + ((*cp - 0xD800) << 10) + (*lo - 0xDC00);
            p += 6;
          } else if (*cp >= 0xDC00 && *cp <= 0xDFFF) {
            return Error(p - 6, "unpaired UTF-16 surrogate in \\u escape");
          }
          AppendUtf8(*cp, &out);
          break;
        }
        default:  // like Python: an unknown escape keeps its backslash
          out.push_back('\\');
          out.push_back(e);
      }
    }
    t->kind = TokKind::kString;
    t->text = std::move(out);
    *pos = p;
    return Status::Ok();
  }

  std::optional<uint32_t> Hex4(size_t p) const {
    if (p + 4 > w_.text.size()) return std::nullopt;
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) {
      char c = w_.text[p + i];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else return std::nullopt;
    }
    return v;
  }

  const Where& w_;
  bool template_mode_;
};

// ---- Parser ----------------------------------------------------------------

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<Namespace> LookupNamespace(std::string_view name) {
  std::string lower = AsciiLower(name);
  if (lower == "input" || lower == "inputs") return Namespace::kInput;
  if (lower == "doc") return Namespace::kDoc;
  if (lower == "context") return Namespace::kContext;
  if (lower == "stage") return Namespace::kStage;
  if (lower == "secret" || lower == "secrets") return Namespace::kSecret;
  return std::nullopt;
}

const char* NamespaceName(Namespace ns) {
  switch (ns) {
    case Namespace::kInput: return "INPUT";
    case Namespace::kDoc: return "DOC";
    case Namespace::kContext: return "CONTEXT";
    case Namespace::kStage: return "STAGE";
    case Namespace::kSecret: return "SECRET";
  }
  return "?";
}

struct FilterSpec {
  std::string_view name;
  FilterKind kind;
  size_t min_args;
  size_t max_args;
};

constexpr std::array<FilterSpec, 17> kFilters = {{
    {"tojson", FilterKind::kToJson, 0, 0},
    {"default", FilterKind::kDefault, 1, 2},
    {"d", FilterKind::kDefault, 1, 2},
    {"lower", FilterKind::kLower, 0, 0},
    {"upper", FilterKind::kUpper, 0, 0},
    {"trim", FilterKind::kTrim, 0, 0},
    {"length", FilterKind::kLength, 0, 0},
    {"count", FilterKind::kLength, 0, 0},
    {"join", FilterKind::kJoin, 0, 1},
    {"first", FilterKind::kFirst, 0, 0},
    {"last", FilterKind::kLast, 0, 0},
    {"abs", FilterKind::kAbs, 0, 0},
    {"round", FilterKind::kRound, 0, 1},
    {"int", FilterKind::kInt, 0, 1},
    {"float", FilterKind::kFloat, 0, 1},
    {"string", FilterKind::kString, 0, 0},
    {"bool", FilterKind::kBool, 0, 0},
}};

std::string FilterList() {
  std::string out;
  for (const FilterSpec& f : kFilters) {
    if (!out.empty()) out += ", ";
    out += f.name;
  }
  return out;
}

bool IsReserved(std::string_view name) {
  return name == "and" || name == "or" || name == "not" || name == "if" || name == "else" || name == "in";
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const Where& where, unsigned* namespaces)
      : toks_(tokens), w_(where), namespaces_(namespaces) {}

  Result<NodePtr> Run() {
    if (Peek().kind == TokKind::kEnd) return Error(Peek(), "empty expression");
    ASSIGN_OR_RETURN(NodePtr n, Expr());
    if (Peek().kind != TokKind::kEnd) return Error(Peek(), "unexpected " + Describe(Peek()));
    return n;
  }

 private:
  const Token& Peek(size_t ahead = 0) const { return toks_[std::min(i_ + ahead, toks_.size() - 1)]; }
  // The token list ends with kEnd; Next never moves past it.
  const Token& Next() {
    const Token& t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }
  bool IsOp(std::string_view op, size_t ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.kind == TokKind::kOp && t.text == op;
  }
  bool IsKeyword(std::string_view kw, size_t ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.kind == TokKind::kName && t.text == kw;
  }

  std::string Describe(const Token& t) const {
    switch (t.kind) {
      case TokKind::kEnd: return t.text.empty() ? "the end of the expression" : "'}}'";
      case TokKind::kString: return "a string";
      case TokKind::kInt:
      case TokKind::kFloat: return "number " + t.text;
      case TokKind::kName:
      case TokKind::kOp: return "'" + t.text + "'";
    }
    return "?";
  }

  Status Error(const Token& t, std::string_view what) const { return MakeError(w_, t.pos, what, "template_syntax"); }

  Status Expect(std::string_view op, std::string_view why) {
    if (!IsOp(op)) {
      return Error(Peek(), "expected '" + std::string(op) + "' " + std::string(why) + ", found " + Describe(Peek()));
    }
    Next();
    return Status::Ok();
  }

  static NodePtr New(NodeKind kind, size_t pos) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->pos = pos;
    return n;
  }

  // Seals a node whose kids are set: computes its height and bounds it.
  Result<NodePtr> Finish(NodePtr n) const {
    int h = 0;
    for (const NodePtr& k : n->kids) {
      if (k) h = std::max(h, k->height);
    }
    n->height = h + 1;
    if (n->height > kMaxNodeHeight) {
      return MakeError(w_, n->pos, "expression is too long or nests too deeply", "template_syntax");
    }
    return n;
  }

  Result<NodePtr> Binary(NodeKind kind, size_t pos, std::string name, NodePtr a, NodePtr b) const {
    NodePtr n = New(kind, pos);
    n->name = std::move(name);
    n->kids.push_back(std::move(a));
    n->kids.push_back(std::move(b));
    return Finish(std::move(n));
  }

  // Every recursion that can nest without consuming a closing token first
  // goes through here, which bounds the parser's stack.
  template <typename F>
  Result<NodePtr> Nested(F&& f) {
    if (depth_ >= kMaxParseDepth) return Error(Peek(), "expression nests too deeply");
    ++depth_;
    Result<NodePtr> r = f();
    --depth_;
    return r;
  }

  Result<NodePtr> Expr() {
    return Nested([this] { return Conditional(); });
  }

  Result<NodePtr> Conditional() {
    ASSIGN_OR_RETURN(NodePtr first, Or());
    if (IsKeyword("if")) {  // value if cond [else other]
      size_t pos = Next().pos;
      ASSIGN_OR_RETURN(NodePtr cond, Or());
      NodePtr otherwise;
      if (IsKeyword("else")) {
        Next();
        ASSIGN_OR_RETURN(otherwise, Expr());
      }
      NodePtr n = New(NodeKind::kTernary, pos);
      n->kids.push_back(std::move(cond));
      n->kids.push_back(std::move(first));
      n->kids.push_back(std::move(otherwise));
      return Finish(std::move(n));
    }
    if (IsOp("?")) {  // cond ? value : other
      size_t pos = Next().pos;
      ASSIGN_OR_RETURN(NodePtr then, Expr());
      RETURN_IF_ERROR(Expect(":", "in 'condition ? a : b'"));
      ASSIGN_OR_RETURN(NodePtr otherwise, Expr());
      NodePtr n = New(NodeKind::kTernary, pos);
      n->kids.push_back(std::move(first));
      n->kids.push_back(std::move(then));
      n->kids.push_back(std::move(otherwise));
      return Finish(std::move(n));
    }
    return first;
  }

  Result<NodePtr> Or() {
    ASSIGN_OR_RETURN(NodePtr left, And());
    while (IsKeyword("or") || IsOp("||")) {
      const Token& op = Next();
      ASSIGN_OR_RETURN(NodePtr right, And());
      ASSIGN_OR_RETURN(left, Binary(NodeKind::kOr, op.pos, op.text, std::move(left), std::move(right)));
    }
    return left;
  }

  Result<NodePtr> And() {
    ASSIGN_OR_RETURN(NodePtr left, Not());
    while (IsKeyword("and") || IsOp("&&")) {
      const Token& op = Next();
      ASSIGN_OR_RETURN(NodePtr right, Not());
      ASSIGN_OR_RETURN(left, Binary(NodeKind::kAnd, op.pos, op.text, std::move(left), std::move(right)));
    }
    return left;
  }

  Result<NodePtr> Not() {
    if (IsKeyword("not") || IsOp("!")) {
      size_t pos = Next().pos;
      ASSIGN_OR_RETURN(NodePtr operand, Nested([this] { return Not(); }));
      NodePtr n = New(NodeKind::kNot, pos);
      n->kids.push_back(std::move(operand));
      return Finish(std::move(n));
    }
    return Compare();
  }

  // The comparison operator at the cursor, if any (without consuming it).
  std::optional<std::string> PeekComparison() const {
    const Token& t = Peek();
    if (t.kind == TokKind::kOp &&
        (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) {
      return t.text;
    }
    if (IsKeyword("in")) return "in";
    if (IsKeyword("not") && IsKeyword("in", 1)) return "not in";
    return std::nullopt;
  }

  Result<NodePtr> Compare() {
    ASSIGN_OR_RETURN(NodePtr left, Sum());
    std::optional<std::string> op = PeekComparison();
    if (!op) return left;
    size_t pos = Next().pos;
    if (*op == "not in") Next();
    ASSIGN_OR_RETURN(NodePtr right, Sum());
    if (PeekComparison()) {
      return Error(Peek(), "comparisons do not chain (write 'a < b and b < c')");
    }
    NodeKind kind = (*op == "in" || *op == "not in") ? NodeKind::kIn : NodeKind::kCompare;
    NodePtr n = New(kind, pos);
    n->name = *op;
    n->negate = *op == "not in";
    if (*op == "==") n->compare = CompareOp::kEq;
    if (*op == "!=") n->compare = CompareOp::kNe;
    if (*op == "<") n->compare = CompareOp::kLt;
    if (*op == "<=") n->compare = CompareOp::kLe;
    if (*op == ">") n->compare = CompareOp::kGt;
    if (*op == ">=") n->compare = CompareOp::kGe;
    n->kids.push_back(std::move(left));
    n->kids.push_back(std::move(right));
    return Finish(std::move(n));
  }

  Result<NodePtr> Sum() {
    ASSIGN_OR_RETURN(NodePtr left, Product());
    while (IsOp("+") || IsOp("-") || IsOp("~")) {
      const Token& op = Next();
      ASSIGN_OR_RETURN(NodePtr right, Product());
      ASSIGN_OR_RETURN(left, Binary(NodeKind::kArith, op.pos, op.text, std::move(left), std::move(right)));
      left->arith = op.text == "+" ? ArithOp::kAdd : op.text == "-" ? ArithOp::kSub : ArithOp::kConcat;
    }
    return left;
  }

  Result<NodePtr> Product() {
    ASSIGN_OR_RETURN(NodePtr left, Unary());
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const Token& op = Next();
      ASSIGN_OR_RETURN(NodePtr right, Unary());
      ASSIGN_OR_RETURN(left, Binary(NodeKind::kArith, op.pos, op.text, std::move(left), std::move(right)));
      left->arith = op.text == "*"    ? ArithOp::kMul
                    : op.text == "/"  ? ArithOp::kDiv
                    : op.text == "//" ? ArithOp::kFloorDiv
                                      : ArithOp::kMod;
    }
    return left;
  }

  Result<NodePtr> Unary() {
    if (IsOp("-") || IsOp("+")) {
      const Token& op = Next();
      ASSIGN_OR_RETURN(NodePtr operand, Nested([this] { return Unary(); }));
      NodePtr n = New(op.text == "-" ? NodeKind::kNeg : NodeKind::kPos, op.pos);
      n->name = op.text;
      n->kids.push_back(std::move(operand));
      return Finish(std::move(n));
    }
    return Filtered();
  }

  Result<NodePtr> Filtered() {
    ASSIGN_OR_RETURN(NodePtr value, Postfix());
    while (IsOp("|")) {
      Next();
      const Token& name = Peek();
      if (name.kind != TokKind::kName) return Error(name, "expected a filter name after '|', found " + Describe(name));
      Next();
      const FilterSpec* spec = nullptr;
      for (const FilterSpec& f : kFilters) {
        if (f.name == name.text) spec = &f;
      }
      if (spec == nullptr) {
        return Error(name, "unknown filter '" + name.text + "' (supported: " + FilterList() + ")");
      }
      NodePtr n = New(NodeKind::kFilter, name.pos);
      n->name = name.text;
      n->filter = spec->kind;
      n->kids.push_back(std::move(value));
      if (IsOp("(")) {
        Next();
        while (!IsOp(")")) {
          ASSIGN_OR_RETURN(NodePtr arg, Expr());
          n->kids.push_back(std::move(arg));
          if (!IsOp(",")) break;
          Next();
        }
        RETURN_IF_ERROR(Expect(")", "to close the arguments of filter '" + name.text + "'"));
      }
      size_t args = n->kids.size() - 1;
      if (args < spec->min_args || args > spec->max_args) {
        std::string want = spec->min_args == spec->max_args
                               ? std::to_string(spec->min_args)
                               : std::to_string(spec->min_args) + " to " + std::to_string(spec->max_args);
        return Error(name, "filter '" + name.text + "' takes " + want + " argument" +
                               (spec->max_args == 1 && spec->min_args == spec->max_args ? "" : "s") + ", got " +
                               std::to_string(args));
      }
      ASSIGN_OR_RETURN(value, Finish(std::move(n)));
    }
    return value;
  }

  Result<NodePtr> Postfix() {
    ASSIGN_OR_RETURN(NodePtr value, Primary());
    while (true) {
      if (IsOp(".")) {
        size_t pos = Next().pos;
        const Token& t = Peek();
        if (t.kind == TokKind::kName) {  // keywords are fine here: DOC.if
          Next();
          NodePtr n = New(NodeKind::kMember, pos);
          n->name = t.text;
          n->kids.push_back(std::move(value));
          ASSIGN_OR_RETURN(value, Finish(std::move(n)));
        } else if (t.kind == TokKind::kInt) {  // items.0, as in Jinja
          Next();
          NodePtr index = New(NodeKind::kLiteral, t.pos);
          index->literal = t.int_value;
          NodePtr n = New(NodeKind::kIndex, pos);
          n->kids.push_back(std::move(value));
          n->kids.push_back(std::move(index));
          ASSIGN_OR_RETURN(value, Finish(std::move(n)));
        } else {
          return Error(t, "expected a field name after '.', found " + Describe(t));
        }
      } else if (IsOp("[")) {
        size_t pos = Next().pos;
        NodePtr lo;
        if (!IsOp(":")) {
          ASSIGN_OR_RETURN(lo, Expr());
        }
        if (IsOp(":")) {
          Next();
          NodePtr hi;
          if (!IsOp("]") && !IsOp(":")) {
            ASSIGN_OR_RETURN(hi, Expr());
          }
          if (IsOp(":")) return Error(Peek(), "slice steps are not supported");
          RETURN_IF_ERROR(Expect("]", "to close the slice"));
          NodePtr n = New(NodeKind::kSlice, pos);
          n->kids.push_back(std::move(value));
          n->kids.push_back(std::move(lo));
          n->kids.push_back(std::move(hi));
          ASSIGN_OR_RETURN(value, Finish(std::move(n)));
        } else {
          RETURN_IF_ERROR(Expect("]", "to close the index"));
          NodePtr n = New(NodeKind::kIndex, pos);
          n->kids.push_back(std::move(value));
          n->kids.push_back(std::move(lo));
          ASSIGN_OR_RETURN(value, Finish(std::move(n)));
        }
      } else {
        return value;
      }
    }
  }

  Result<NodePtr> Primary() {
    const Token& t = Peek();
    switch (t.kind) {
      case TokKind::kInt:
      case TokKind::kFloat:
      case TokKind::kString: {
        Next();
        NodePtr n = New(NodeKind::kLiteral, t.pos);
        if (t.kind == TokKind::kInt) n->literal = t.int_value;
        if (t.kind == TokKind::kFloat) n->literal = t.float_value;
        if (t.kind == TokKind::kString) n->literal = t.text;
        return n;
      }
      case TokKind::kName: {
        NodePtr n = New(NodeKind::kLiteral, t.pos);
        if (t.text == "true" || t.text == "True") {
          n->literal = true;
        } else if (t.text == "false" || t.text == "False") {
          n->literal = false;
        } else if (t.text == "null" || t.text == "none" || t.text == "None") {
          n->literal = nullptr;
        } else if (std::optional<Namespace> ns = LookupNamespace(t.text)) {
          n->kind = NodeKind::kRoot;
          n->ns = *ns;
          *namespaces_ |= static_cast<unsigned>(*ns);
        } else if (IsReserved(t.text)) {
          return Error(t, "expected a value, found '" + t.text + "'");
        } else if (IsOp("(", 1)) {
          return Error(t, "function calls such as '" + t.text + "(...)' are not supported; use filters (x | abs)");
        } else {
          return Error(t, "unknown name '" + t.text +
                              "': a path starts with INPUT, DOC, CONTEXT, STAGE or SECRET (any case)");
        }
        Next();
        return n;
      }
      case TokKind::kOp:
        if (t.text == "(") {
          Next();
          ASSIGN_OR_RETURN(NodePtr inner, Expr());
          RETURN_IF_ERROR(Expect(")", "to close '('"));
          return inner;
        }
        if (t.text == "[") {
          NodePtr n = New(NodeKind::kList, Next().pos);
          while (!IsOp("]")) {
            ASSIGN_OR_RETURN(NodePtr item, Expr());
            n->kids.push_back(std::move(item));
            if (!IsOp(",")) break;
            Next();
          }
          RETURN_IF_ERROR(Expect("]", "to close the list"));
          return Finish(std::move(n));
        }
        break;
      case TokKind::kEnd:
        break;
    }
    return Error(t, "expected a value, found " + Describe(t));
  }

  const std::vector<Token>& toks_;
  const Where& w_;
  unsigned* namespaces_;
  size_t i_ = 0;
  int depth_ = 0;
};

// ---- Evaluation ------------------------------------------------------------

const Json& NullJson() {
  static const Json kNull;
  return kNull;
}

// A value during evaluation: a pointer into the bound JSON (or into the
// compiled literals) when the expression merely reads it, an owned value when
// it computed one. Path steps thus never copy what they walk through; `ref`
// never points into another Val's `own`.
struct Val {
  const Json* ref = nullptr;
  Json own;

  const Json& get() const { return ref != nullptr ? *ref : own; }
  Json take() && { return ref != nullptr ? *ref : std::move(own); }
};

Val Ref(const Json& j) {
  Val v;
  v.ref = &j;
  return v;
}

Val Own(Json j) {
  Val v;
  v.own = std::move(j);
  return v;
}

std::string Stringify(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string TypeName(const Json& v) { return JsonTypeName(v); }

bool GetInt(const Json& j, int64_t* out) {
  if (j.type() == Json::value_t::number_integer) {
    *out = j.get<int64_t>();
    return true;
  }
  if (j.type() == Json::value_t::number_unsigned) {
    uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(u);
    return true;
  }
  return false;
}

// The UTF-8 characters of a string, as byte offsets: starts[i] is where
// character i begins, starts.back() == s.size().
std::vector<size_t> CharStarts(std::string_view s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsContinuationByte(s[i])) starts.push_back(i);
  }
  starts.push_back(s.size());
  return starts;
}

// Python's clamping of slice bounds to [0, n].
int64_t SliceBound(std::optional<int64_t> b, int64_t n, int64_t fallback) {
  if (!b) return fallback;
  int64_t v = *b;
  if (v < 0) v = std::max<int64_t>(0, v + n);
  return std::min(v, n);
}

class Evaluator {
 public:
  Evaluator(const Where& where, const TemplateContext& ctx) : w_(where), ctx_(ctx) {}

  Result<Val> Eval(const Node& n) {
    switch (n.kind) {
      case NodeKind::kLiteral: return Ref(n.literal);
      case NodeKind::kRoot: return Root(n);
      case NodeKind::kMember: {
        ASSIGN_OR_RETURN(Val base, Eval(*n.kids[0]));
        return Member(std::move(base), n.name);
      }
      case NodeKind::kIndex: return Index(n);
      case NodeKind::kSlice: return Slice(n);
      case NodeKind::kList: {
        Json items = Json::array();
        for (const NodePtr& k : n.kids) {
          ASSIGN_OR_RETURN(Val v, Eval(*k));
          items.push_back(std::move(v).take());
        }
        return Own(std::move(items));
      }
      case NodeKind::kNeg:
      case NodeKind::kPos: {
        ASSIGN_OR_RETURN(Val v, Eval(*n.kids[0]));
        const Json& x = v.get();
        if (!x.is_number()) return TypeError(n, "unary '" + n.name + "' needs a number, got " + TypeName(x));
        if (n.kind == NodeKind::kPos) return v;
        int64_t i;
        if (GetInt(x, &i) && i != std::numeric_limits<int64_t>::min()) return Own(-i);
        return Own(-x.get<double>());
      }
      case NodeKind::kNot: {
        ASSIGN_OR_RETURN(Val v, Eval(*n.kids[0]));
        return Own(!IsTruthy(v.get()));
      }
      case NodeKind::kArith: {
        ASSIGN_OR_RETURN(Val a, Eval(*n.kids[0]));
        ASSIGN_OR_RETURN(Val b, Eval(*n.kids[1]));
        return Arith(n, a.get(), b.get());
      }
      case NodeKind::kCompare: {
        ASSIGN_OR_RETURN(Val a, Eval(*n.kids[0]));
        ASSIGN_OR_RETURN(Val b, Eval(*n.kids[1]));
        return Compare(n, a.get(), b.get());
      }
      case NodeKind::kIn: {
        ASSIGN_OR_RETURN(Val a, Eval(*n.kids[0]));
        ASSIGN_OR_RETURN(Val b, Eval(*n.kids[1]));
        return In(n, a.get(), b.get());
      }
      case NodeKind::kAnd:
      case NodeKind::kOr: {
        ASSIGN_OR_RETURN(Val a, Eval(*n.kids[0]));
        bool truthy = IsTruthy(a.get());
        if (n.kind == NodeKind::kAnd ? !truthy : truthy) return a;
        return Eval(*n.kids[1]);
      }
      case NodeKind::kTernary: {
        ASSIGN_OR_RETURN(Val cond, Eval(*n.kids[0]));
        if (IsTruthy(cond.get())) return Eval(*n.kids[1]);
        if (n.kids[2]) return Eval(*n.kids[2]);
        return Ref(NullJson());
      }
      case NodeKind::kFilter: return Filter(n);
    }
    return Status::Internal("template: unknown node kind");
  }

 private:
  Status TypeError(const Node& n, std::string_view what) const { return MakeError(w_, n.pos, what, "type_error"); }
  Status ValueError(const Node& n, std::string_view what) const { return MakeError(w_, n.pos, what, "value_error"); }

  Result<Val> Root(const Node& n) const {
    const Json* bound = nullptr;
    switch (n.ns) {
      case Namespace::kInput: bound = ctx_.input; break;
      case Namespace::kDoc: bound = ctx_.doc; break;
      case Namespace::kContext: bound = ctx_.context; break;
      case Namespace::kStage: bound = ctx_.stage; break;
      case Namespace::kSecret: bound = ctx_.secrets; break;
    }
    if (bound == nullptr) {
      return ValueError(n, std::string(NamespaceName(n.ns)) + " is not available where this template is rendered");
    }
    return Ref(*bound);
  }

  static Val Member(Val base, const std::string& key) {
    const Json& b = base.get();
    if (!b.is_object()) return Ref(NullJson());
    auto it = b.find(key);
    if (it == b.end()) return Ref(NullJson());
    if (base.ref != nullptr) return Ref(*it);
    return Own(std::move(base.own[key]));
  }

  static Val Element(Val base, int64_t i) {
    const Json& b = base.get();
    if (b.is_array()) {
      int64_t n = static_cast<int64_t>(b.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Ref(NullJson());
      if (base.ref != nullptr) return Ref(b[static_cast<size_t>(i)]);
      return Own(std::move(base.own[static_cast<size_t>(i)]));
    }
    if (b.is_string()) {
      const std::string& s = b.get_ref<const std::string&>();
      std::vector<size_t> starts = CharStarts(s);
      int64_t n = static_cast<int64_t>(starts.size()) - 1;
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Ref(NullJson());
      size_t from = starts[static_cast<size_t>(i)];
      return Own(s.substr(from, starts[static_cast<size_t>(i) + 1] - from));
    }
    return Ref(NullJson());
  }

  Result<Val> Index(const Node& n) {
    ASSIGN_OR_RETURN(Val base, Eval(*n.kids[0]));
    ASSIGN_OR_RETURN(Val index, Eval(*n.kids[1]));
    const Json& ix = index.get();
    if (ix.is_null()) return Ref(NullJson());
    if (ix.is_string()) return Member(std::move(base), ix.get_ref<const std::string&>());
    int64_t i;
    if (GetInt(ix, &i)) return Element(std::move(base), i);
    return TypeError(n, "an index must be an integer or a string, got " + TypeName(ix));
  }

  Result<std::optional<int64_t>> Bound(const Node& n, const NodePtr& k) {
    if (!k) return std::optional<int64_t>();
    ASSIGN_OR_RETURN(Val v, Eval(*k));
    if (v.get().is_null()) return std::optional<int64_t>();
    int64_t i;
    if (!GetInt(v.get(), &i)) return TypeError(n, "slice bounds must be integers, got " + TypeName(v.get()));
    return std::optional<int64_t>(i);
  }

  Result<Val> Slice(const Node& n) {
    ASSIGN_OR_RETURN(Val base, Eval(*n.kids[0]));
    ASSIGN_OR_RETURN(std::optional<int64_t> lo, Bound(n, n.kids[1]));
    ASSIGN_OR_RETURN(std::optional<int64_t> hi, Bound(n, n.kids[2]));
    const Json& b = base.get();
    if (b.is_null()) return Ref(NullJson());
    if (b.is_array()) {
      int64_t size = static_cast<int64_t>(b.size());
      int64_t from = SliceBound(lo, size, 0), to = SliceBound(hi, size, size);
      Json out = Json::array();
      for (int64_t i = from; i < to; ++i) out.push_back(b[static_cast<size_t>(i)]);
      return Own(std::move(out));
    }
    if (b.is_string()) {
      const std::string& s = b.get_ref<const std::string&>();
      std::vector<size_t> starts = CharStarts(s);
      int64_t size = static_cast<int64_t>(starts.size()) - 1;
      int64_t from = SliceBound(lo, size, 0), to = SliceBound(hi, size, size);
      if (from >= to) return Own(std::string());
      size_t a = starts[static_cast<size_t>(from)], z = starts[static_cast<size_t>(to)];
      return Own(s.substr(a, z - a));
    }
    return TypeError(n, "cannot slice " + TypeName(b) + " (only arrays and strings)");
  }

  Result<Val> Number(const Node& n, double d) const {
    if (!std::isfinite(d)) return ValueError(n, "operator '" + n.name + "' gives a number out of range");
    return Own(d);
  }

  Result<Val> Arith(const Node& n, const Json& x, const Json& y) const {
    if (n.arith == ArithOp::kConcat) return Own(Stringify(x) + Stringify(y));
    if (n.arith == ArithOp::kAdd) {
      if (x.is_string() && y.is_string()) {
        return Own(x.get_ref<const std::string&>() + y.get_ref<const std::string&>());
      }
      if (x.is_array() && y.is_array()) {
        Json out = x;
        for (const Json& item : y) out.push_back(item);
        return Own(std::move(out));
      }
    }
    if (!x.is_number() || !y.is_number()) {
      std::string what = "operator '" + n.name + "' needs " +
                         (n.arith == ArithOp::kAdd ? "two numbers, two strings or two arrays" : "numbers") +
                         ", got " + TypeName(x) + " and " + TypeName(y);
      if (x.is_null() || y.is_null()) what += " (a missing value is null: give it a fallback with | default(...))";
      return TypeError(n, what);
    }
    int64_t a, b;
    if (GetInt(x, &a) && GetInt(y, &b)) {
      int64_t r;
      switch (n.arith) {
        case ArithOp::kAdd:
          if (!__builtin_add_overflow(a, b, &r)) return Own(r);
          break;
        case ArithOp::kSub:
          if (!__builtin_sub_overflow(a, b, &r)) return Own(r);
          break;
        case ArithOp::kMul:
          if (!__builtin_mul_overflow(a, b, &r)) return Own(r);
          break;
        case ArithOp::kDiv:
          if (b == 0) return ValueError(n, "division by zero");
          return Number(n, static_cast<double>(a) / static_cast<double>(b));
        case ArithOp::kFloorDiv: {
          if (b == 0) return ValueError(n, "division by zero");
          if (a == std::numeric_limits<int64_t>::min() && b == -1) break;  // overflows: use doubles
          int64_t q = a / b;
          if (a % b != 0 && ((a < 0) != (b < 0))) --q;  // floor, like Python
          return Own(q);
        }
        case ArithOp::kMod: {
          if (b == 0) return ValueError(n, "division by zero");
          if (b == -1) return Own(int64_t{0});  // INT64_MIN % -1 is undefined in C++
          int64_t m = a % b;
          if (m != 0 && ((m < 0) != (b < 0))) m += b;  // the divisor's sign, like Python
          return Own(m);
        }
        case ArithOp::kConcat: break;
      }
    }
    double da = x.get<double>(), db = y.get<double>();
    switch (n.arith) {
      case ArithOp::kAdd: return Number(n, da + db);
      case ArithOp::kSub: return Number(n, da - db);
      case ArithOp::kMul: return Number(n, da * db);
      case ArithOp::kDiv:
        if (db == 0) return ValueError(n, "division by zero");
        return Number(n, da / db);
      case ArithOp::kFloorDiv:
        if (db == 0) return ValueError(n, "division by zero");
        return Number(n, std::floor(da / db));
      case ArithOp::kMod: {
        if (db == 0) return ValueError(n, "division by zero");
        double m = std::fmod(da, db);
        if (m != 0 && ((m < 0) != (db < 0))) m += db;
        return Number(n, m);
      }
      case ArithOp::kConcat: break;
    }
    return Status::Internal("template: unknown arithmetic operator");
  }

  Result<Val> Compare(const Node& n, const Json& x, const Json& y) const {
    if (n.compare == CompareOp::kEq) return Own(x == y);
    if (n.compare == CompareOp::kNe) return Own(x != y);
    if (x.is_null() || y.is_null()) return Own(false);
    int c;  // <0, 0, >0
    int64_t a, b;
    if (x.is_number() && y.is_number()) {
      if (GetInt(x, &a) && GetInt(y, &b)) {
        c = a < b ? -1 : a > b ? 1 : 0;
      } else {
        double da = x.get<double>(), db = y.get<double>();
        c = da < db ? -1 : da > db ? 1 : 0;
      }
    } else if (x.is_string() && y.is_string()) {
      c = x.get_ref<const std::string&>().compare(y.get_ref<const std::string&>());
    } else {
      return TypeError(n, "cannot compare " + TypeName(x) + " and " + TypeName(y) + " with '" + n.name +
                              "' (only two numbers or two strings)");
    }
    switch (n.compare) {
      case CompareOp::kLt: return Own(c < 0);
      case CompareOp::kLe: return Own(c <= 0);
      case CompareOp::kGt: return Own(c > 0);
      case CompareOp::kGe: return Own(c >= 0);
      default: break;
    }
    return Status::Internal("template: unknown comparison");
  }

  Result<Val> In(const Node& n, const Json& needle, const Json& hay) const {
    bool found = false;
    if (hay.is_null()) {
      found = false;
    } else if (hay.is_array()) {
      for (const Json& item : hay) {
        if (item == needle) {
          found = true;
          break;
        }
      }
    } else if (hay.is_string()) {
      if (!needle.is_string()) {
        return TypeError(n, "'" + n.name + "' a string needs a string on its left, got " + TypeName(needle));
      }
      found = hay.get_ref<const std::string&>().find(needle.get_ref<const std::string&>()) != std::string::npos;
    } else if (hay.is_object()) {
      found = needle.is_string() && hay.contains(needle.get_ref<const std::string&>());
    } else {
      return TypeError(n, "'" + n.name + "' needs an array, a string or an object on its right, got " +
                              TypeName(hay));
    }
    return Own(n.negate ? !found : found);
  }

  Result<Val> Filter(const Node& n) {
    ASSIGN_OR_RETURN(Val v, Eval(*n.kids[0]));
    std::vector<Val> args;
    for (size_t i = 1; i < n.kids.size(); ++i) {
      ASSIGN_OR_RETURN(Val a, Eval(*n.kids[i]));
      args.push_back(std::move(a));
    }
    const Json& x = v.get();
    auto wrong_type = [&](std::string_view want) {
      return TypeError(n, "filter '" + n.name + "' needs " + std::string(want) + ", got " + TypeName(x));
    };
    switch (n.filter) {
      case FilterKind::kToJson: return Own(x.dump(-1, ' ', false, Json::error_handler_t::replace));
      case FilterKind::kDefault: {
        bool also_falsy = args.size() > 1 && IsTruthy(args[1].get());
        if (x.is_null() || (also_falsy && !IsTruthy(x))) return std::move(args[0]);
        return v;
      }
      case FilterKind::kLower:
      case FilterKind::kUpper:
      case FilterKind::kTrim: {
        if (x.is_null()) return v;
        if (!x.is_string()) return wrong_type("a string");
        const std::string& s = x.get_ref<const std::string&>();
        if (n.filter == FilterKind::kTrim) return Own(std::string(TrimView(s)));
        std::string out = s;
        for (char& c : out) {
          if (n.filter == FilterKind::kLower && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
          if (n.filter == FilterKind::kUpper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        }
        return Own(std::move(out));
      }
      case FilterKind::kLength:
        if (x.is_null()) return Own(int64_t{0});
        if (x.is_string()) return Own(static_cast<int64_t>(CountChars(x.get_ref<const std::string&>())));
        if (x.is_array() || x.is_object()) return Own(static_cast<int64_t>(x.size()));
        return wrong_type("a string, an array or an object");
      case FilterKind::kJoin: {
        std::string sep;
        if (!args.empty()) {
          if (!args[0].get().is_string()) {
            return TypeError(n, "the separator of filter 'join' must be a string, got " + TypeName(args[0].get()));
          }
          sep = args[0].get().get<std::string>();
        }
        if (x.is_null()) return v;
        if (!x.is_array()) return wrong_type("an array");
        std::string out;
        for (size_t i = 0; i < x.size(); ++i) {
          if (i > 0) out += sep;
          out += Stringify(x[i]);
        }
        return Own(std::move(out));
      }
      case FilterKind::kFirst:
      case FilterKind::kLast: {
        if (x.is_null()) return v;
        if (!x.is_array() && !x.is_string()) return wrong_type("an array or a string");
        if (x.empty() || (x.is_string() && x.get_ref<const std::string&>().empty())) return Ref(NullJson());
        return Element(std::move(v), n.filter == FilterKind::kFirst ? 0 : -1);
      }
      case FilterKind::kAbs: {
        if (!x.is_number()) return wrong_type("a number");
        int64_t i;
        if (GetInt(x, &i) && i != std::numeric_limits<int64_t>::min()) return Own(i < 0 ? -i : i);
        return Own(std::fabs(x.get<double>()));
      }
      case FilterKind::kRound: {
        if (!x.is_number()) return wrong_type("a number");
        int64_t digits = 0;
        if (!args.empty() && !GetInt(args[0].get(), &digits)) {
          return TypeError(n, "the digits of filter 'round' must be an integer, got " + TypeName(args[0].get()));
        }
        if (x.type() != Json::value_t::number_float) return v;  // integers are already round
        double scale = std::pow(10.0, static_cast<double>(std::clamp<int64_t>(digits, -308, 308)));
        return Number(n, std::round(x.get<double>() * scale) / scale);
      }
      case FilterKind::kInt:
      case FilterKind::kFloat: return Convert(n, std::move(v), args);
      case FilterKind::kString: return Own(Stringify(x));
      case FilterKind::kBool: return Own(IsTruthy(x));
    }
    return Status::Internal("template: unknown filter");
  }

  // int / float: Jinja's lenient conversions, with a fallback instead of an
  // error for values that do not convert.
  Result<Val> Convert(const Node& n, Val v, std::vector<Val>& args) const {
    bool to_int = n.filter == FilterKind::kInt;
    auto fallback = [&]() -> Val {
      if (!args.empty()) return std::move(args[0]);
      return to_int ? Own(int64_t{0}) : Own(0.0);
    };
    const Json& x = v.get();
    std::optional<double> d;
    int64_t i = 0;
    if (GetInt(x, &i)) {
      return to_int ? Own(i) : Own(static_cast<double>(i));
    } else if (x.is_number()) {
      d = x.get<double>();
    } else if (x.is_boolean()) {
      return to_int ? Own(int64_t{x.get<bool>() ? 1 : 0}) : Own(x.get<bool>() ? 1.0 : 0.0);
    } else if (x.is_string()) {
      std::string_view s = TrimView(x.get_ref<const std::string&>());
      if (!s.empty() && s[0] == '+') s.remove_prefix(1);
      const char* end = s.data() + s.size();
      auto ri = std::from_chars(s.data(), end, i);
      if (!s.empty() && ri.ec == std::errc() && ri.ptr == end) {
        return to_int ? Own(i) : Own(static_cast<double>(i));
      }
      double parsed;
      auto rd = std::from_chars(s.data(), end, parsed);
      if (!s.empty() && rd.ec == std::errc() && rd.ptr == end && std::isfinite(parsed)) d = parsed;
    }
    if (!d) return fallback();
    if (!to_int) return Own(*d);
    double t = std::trunc(*d);
    // Within int64 (2^63 is exact as a double; the range is half-open).
    if (t >= -9223372036854775808.0 && t < 9223372036854775808.0) return Own(static_cast<int64_t>(t));
    return fallback();
  }

  const Where& w_;
  const TemplateContext& ctx_;
};

// Where for errors inside a compiled expression.
Where ExprWhere(const std::string& text, const std::string& location, size_t begin, size_t end) {
  Where w;
  w.text = text;
  w.location = location;
  w.expr_begin = begin;
  w.expr_end = end;
  return w;
}

}  // namespace

bool IsTruthy(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return false;
    case Json::value_t::boolean: return v.get<bool>();
    case Json::value_t::number_integer: return v.get<int64_t>() != 0;
    case Json::value_t::number_unsigned: return v.get<uint64_t>() != 0;
    case Json::value_t::number_float: return v.get<double>() != 0.0;
    case Json::value_t::string: return !v.get_ref<const std::string&>().empty();
    case Json::value_t::array:
    case Json::value_t::object: return !v.empty();
    default: return false;
  }
}

// ---- Template --------------------------------------------------------------

Result<Template> Template::Compile(std::string_view text, std::string_view location) {
  auto p = std::make_shared<Program>();
  p->text = std::string(text);
  p->location = std::string(location);
  const std::string& s = p->text;
  Where where;
  where.text = s;
  where.location = p->location;

  std::string literal;
  size_t pos = 0;
  while (true) {
    size_t open = s.find('{', pos);
    while (open != std::string::npos && !(open + 1 < s.size() && (s[open + 1] == '{' || s[open + 1] == '%'))) {
      open = s.find('{', open + 1);
    }
    if (open == std::string::npos) {
      literal.append(s, pos, std::string::npos);
      break;
    }
    literal.append(s, pos, open - pos);
    if (s[open + 1] == '%') {
      return MakeError(where, open, "'{% ... %}' statements are not supported, only '{{ expression }}'",
                       "template_syntax");
    }
    // For messages about an expression that does not lex, a guess at its end;
    // the lexer finds the real one (a string literal may hold "}}").
    size_t guess = s.find("}}", open + 2);
    Where w = ExprWhere(s, p->location, open + 2, guess == std::string::npos ? s.size() : guess);
    std::vector<Token> tokens;
    size_t end = 0;
    RETURN_IF_ERROR(Lexer(w, /*template_mode=*/true).Run(open + 2, &tokens, &end));
    w.expr_end = end - 2;
    ASSIGN_OR_RETURN(NodePtr expr, Parser(tokens, w, &p->namespaces).Run());
    Program::Part part;
    part.literal = std::move(literal);
    part.expr = std::move(expr);
    part.begin = open + 2;
    part.end = end - 2;
    p->parts.push_back(std::move(part));
    literal.clear();
    pos = end;
  }
  if (!literal.empty() || p->parts.empty()) {
    Program::Part part;
    part.literal = std::move(literal);
    p->parts.push_back(std::move(part));
  }
  p->single = p->parts.size() == 1 && p->parts[0].expr && p->parts[0].literal.empty();
  return Template(std::move(p));
}

Result<Template> Template::CompileExpression(std::string_view expr, std::string_view location) {
  std::string_view trimmed = TrimView(expr);
  if (trimmed.substr(0, 2) == "{{") {
    ASSIGN_OR_RETURN(Template t, Compile(trimmed, location));
    if (!t.is_single_expression()) {
      Where w;
      w.text = t.text();
      w.location = location;
      return MakeError(w, 0, "expected one '{{ expression }}' and nothing around it", "template_syntax");
    }
    return t;
  }
  auto p = std::make_shared<Program>();
  p->text = std::string(expr);
  p->location = std::string(location);
  Where w = ExprWhere(p->text, p->location, 0, p->text.size());
  std::vector<Token> tokens;
  size_t end = 0;
  RETURN_IF_ERROR(Lexer(w, /*template_mode=*/false).Run(0, &tokens, &end));
  ASSIGN_OR_RETURN(NodePtr root, Parser(tokens, w, &p->namespaces).Run());
  Program::Part part;
  part.expr = std::move(root);
  part.begin = 0;
  part.end = p->text.size();
  p->parts.push_back(std::move(part));
  p->single = true;
  return Template(std::move(p));
}

Result<Json> Template::Render(const TemplateContext& ctx) const {
  const Program& p = *program_;
  if (p.single) {
    const Program::Part& part = p.parts[0];
    Where w = ExprWhere(p.text, p.location, part.begin, part.end);
    ASSIGN_OR_RETURN(Val v, Evaluator(w, ctx).Eval(*part.expr));
    return std::move(v).take();
  }
  if (!has_expressions()) return Json(p.text);
  std::string out;
  for (const Program::Part& part : p.parts) {
    out += part.literal;
    if (!part.expr) continue;
    Where w = ExprWhere(p.text, p.location, part.begin, part.end);
    ASSIGN_OR_RETURN(Val v, Evaluator(w, ctx).Eval(*part.expr));
    out += Stringify(v.get());
  }
  return Json(std::move(out));
}

Result<bool> Template::Truthy(const TemplateContext& ctx) const {
  const Program& p = *program_;
  if (p.single) {  // without copying the value out
    const Program::Part& part = p.parts[0];
    Where w = ExprWhere(p.text, p.location, part.begin, part.end);
    ASSIGN_OR_RETURN(Val v, Evaluator(w, ctx).Eval(*part.expr));
    return IsTruthy(v.get());
  }
  ASSIGN_OR_RETURN(Json v, Render(ctx));
  return IsTruthy(v);
}

bool Template::has_expressions() const { return program_->parts.size() > 1 || program_->parts[0].expr != nullptr; }
bool Template::is_single_expression() const { return program_->single; }
unsigned Template::namespaces() const { return program_->namespaces; }
const std::string& Template::text() const { return program_->text; }

// ---- JsonTemplate ----------------------------------------------------------

namespace {

bool MayHoldTemplate(const std::string& s) {
  return s.find("{{") != std::string::npos || s.find("{%") != std::string::npos;
}

std::string ChildLocation(const std::string& location, const std::string& key) {
  return location.empty() ? key : location + "." + key;
}

std::string ItemLocation(const std::string& location, size_t i) {
  return location + "[" + std::to_string(i) + "]";
}

// Calls f(pointer, location, string) for every string value that may hold a
// template, depth first.
template <typename F>
Status ForEachTemplatedString(const Json& value, const Json::json_pointer& pointer, const std::string& location,
                              F& f) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (MayHoldTemplate(s)) return f(pointer, location, s);
  } else if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      RETURN_IF_ERROR(ForEachTemplatedString(it.value(), pointer / it.key(), ChildLocation(location, it.key()), f));
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      RETURN_IF_ERROR(ForEachTemplatedString(value[i], pointer / i, ItemLocation(location, i), f));
    }
  }
  return Status::Ok();
}

// The one-shot walk: renders while copying, so each string is compiled once
// and the value is copied once.
Result<Json> RenderValue(const Json& value, const TemplateContext& ctx, const std::string& location) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (!MayHoldTemplate(s)) return value;
    ASSIGN_OR_RETURN(Template t, Template::Compile(s, location));
    return t.Render(ctx);
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      ASSIGN_OR_RETURN(out[it.key()], RenderValue(it.value(), ctx, ChildLocation(location, it.key())));
    }
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (size_t i = 0; i < value.size(); ++i) {
      ASSIGN_OR_RETURN(Json item, RenderValue(value[i], ctx, ItemLocation(location, i)));
      out.push_back(std::move(item));
    }
    return out;
  }
  return value;
}

}  // namespace

Result<JsonTemplate> JsonTemplate::Compile(const Json& value, std::string_view location) {
  JsonTemplate out;
  out.value_ = std::make_shared<const Json>(value);
  auto add = [&out](const Json::json_pointer& pointer, const std::string& loc, const std::string& s) -> Status {
    ASSIGN_OR_RETURN(Template t, Template::Compile(s, loc));
    if (!t.has_expressions()) return Status::Ok();
    out.namespaces_ |= t.namespaces();
    out.slots_.push_back(Slot{pointer, std::move(t)});
    return Status::Ok();
  };
  RETURN_IF_ERROR(ForEachTemplatedString(*out.value_, Json::json_pointer(), std::string(location), add));
  return out;
}

Result<Json> JsonTemplate::Render(const TemplateContext& ctx) const {
  if (!value_) return Json();
  Json out = *value_;
  for (const Slot& slot : slots_) {
    ASSIGN_OR_RETURN(Json v, slot.tmpl.Render(ctx));
    out[slot.pointer] = std::move(v);
  }
  return out;
}

Result<Json> Render(const Json& value, const TemplateContext& ctx, std::string_view location) {
  return RenderValue(value, ctx, std::string(location));
}

Result<Json> Evaluate(std::string_view expr, const TemplateContext& ctx, std::string_view location) {
  ASSIGN_OR_RETURN(Template t, Template::CompileExpression(expr, location));
  return t.Render(ctx);
}

Result<bool> Truthy(std::string_view expr, const TemplateContext& ctx, std::string_view location) {
  ASSIGN_OR_RETURN(Template t, Template::CompileExpression(expr, location));
  return t.Truthy(ctx);
}

}  // namespace strata::retrieve
