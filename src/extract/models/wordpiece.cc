#include "extract/models/wordpiece.h"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace strata::extract {

namespace {

// ---- UTF-8 ---------------------------------------------------------------

// Decodes one code point at `i` and advances it; malformed bytes decode as
// U+FFFD, which the cleaning step then drops (as BERT does).
char32_t NextCodePoint(std::string_view s, size_t& i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = len == 1 ? c : c & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc >> 6) != 0x2) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += len;
  return cp;
}

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// ---- character classes (BERT's tokenization.py) ----------------------------

struct Range {
  char32_t lo, hi;
};

template <size_t N>
bool InRanges(char32_t cp, const Range (&ranges)[N]) {
  for (const Range& r : ranges) {
    if (cp >= r.lo && cp <= r.hi) return true;
  }
  return false;
}

// Unicode category Zs, plus the ASCII whitespace.
bool IsWhitespace(char32_t cp) {
  static constexpr Range kSpaces[] = {{0x20, 0x20},     {0x09, 0x0A},     {0x0D, 0x0D},
                                      {0xA0, 0xA0},     {0x1680, 0x1680}, {0x2000, 0x200A},
                                      {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}};
  return InRanges(cp, kSpaces);
}

// Categories Cc and Cf (tab and newlines count as whitespace instead), which
// BERT removes; also private use and surrogates.
bool IsControl(char32_t cp) {
  static constexpr Range kControls[] = {
      {0x00, 0x08},     {0x0B, 0x0C},     {0x0E, 0x1F},       {0x7F, 0x9F},     {0xAD, 0xAD},
      {0x600, 0x605},   {0x61C, 0x61C},   {0x6DD, 0x6DD},     {0x70F, 0x70F},   {0x180E, 0x180E},
      {0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064},   {0x2066, 0x206F}, {0xD800, 0xF8FF},
      {0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB}, {0xF0000, 0x10FFFF}};
  return InRanges(cp, kControls);
}

// BERT counts every non-alphanumeric printable ASCII character as punctuation,
// and beyond ASCII the categories P*: here those of the common blocks.
bool IsPunctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126)) {
    return true;
  }
  if (cp < 0xA1) return false;
  static constexpr Range kPunct[] = {
      {0xA1, 0xA1},     {0xA7, 0xA7},     {0xAB, 0xAB},     {0xB6, 0xB7},     {0xBB, 0xBB},
      {0xBF, 0xBF},     {0x37E, 0x37E},   {0x387, 0x387},   {0x55A, 0x55F},   {0x589, 0x58A},
      {0x5BE, 0x5BE},   {0x5C0, 0x5C0},   {0x5C3, 0x5C3},   {0x5C6, 0x5C6},   {0x5F3, 0x5F4},
      {0x60C, 0x60D},   {0x61B, 0x61B},   {0x61E, 0x61F},   {0x66A, 0x66D},   {0x6D4, 0x6D4},
      {0x964, 0x965},   {0x2010, 0x2027}, {0x2030, 0x2043}, {0x2045, 0x2051}, {0x2053, 0x205E},
      {0x207D, 0x207E}, {0x208D, 0x208E}, {0x2E00, 0x2E2E}, {0x2E30, 0x2E4F}, {0x3001, 0x3003},
      {0x3008, 0x3011}, {0x3014, 0x301F}, {0x3030, 0x3030}, {0x303D, 0x303D}, {0x30A0, 0x30A0},
      {0x30FB, 0x30FB}, {0xFE10, 0xFE19}, {0xFE30, 0xFE52}, {0xFE54, 0xFE61}, {0xFE63, 0xFE63},
      {0xFE68, 0xFE68}, {0xFE6A, 0xFE6B}, {0xFF01, 0xFF03}, {0xFF05, 0xFF0A}, {0xFF0C, 0xFF0F},
      {0xFF1A, 0xFF1B}, {0xFF1F, 0xFF20}, {0xFF3B, 0xFF3D}, {0xFF3F, 0xFF3F}, {0xFF5B, 0xFF5B},
      {0xFF5D, 0xFF5D}, {0xFF5F, 0xFF65}};
  return InRanges(cp, kPunct);
}

// The CJK Unified Ideographs blocks (not Hangul, Hiragana or Katakana, which
// BERT tokenizes like any other letters).
bool IsCjk(char32_t cp) {
  static constexpr Range kCjk[] = {{0x4E00, 0x9FFF},   {0x3400, 0x4DBF},   {0x20000, 0x2A6DF},
                                   {0x2A700, 0x2B73F}, {0x2B740, 0x2B81F}, {0x2B820, 0x2CEAF},
                                   {0xF900, 0xFAFF},   {0x2F800, 0x2FA1F}};
  return InRanges(cp, kCjk);
}

// Combining marks (category Mn) of the diacritic blocks: what NFD splits off.
bool IsCombiningMark(char32_t cp) {
  static constexpr Range kMarks[] = {
      {0x300, 0x36F}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x20D0, 0x20FF}, {0xFE20, 0xFE2F}};
  return InRanges(cp, kMarks);
}

// The base letter of a precomposed Latin-1 / Latin Extended-A letter, i.e. its
// NFD without the marks; '.' where NFD keeps the letter (Æ, Ø, ß, Ł, ...).
char32_t StripAccent(char32_t cp) {
  static constexpr std::string_view kLatin1 =  // U+00C0..U+00FF
      "AAAAAA.CEEEEIIII.NOOOOO..UUUUY..aaaaaa.ceeeeiiii.nooooo..uuuuy.y";
  static constexpr std::string_view kExtendedA =  // U+0100..U+017F
      "AaAaAaCcCcCcCcDd..EeEeEeEeEeGgGgGgGgHh..IiIiIiIiI...JjKk.LlLlLl."
      "...NnNnNn...OoOoOo..RrRrRrSsSsSsSsTtTt..UuUuUuUuUuUuWwYyYZzZzZz.";
  static_assert(kLatin1.size() == 0x40 && kExtendedA.size() == 0x80);
  char base = '.';
  if (cp >= 0xC0 && cp <= 0xFF) base = kLatin1[cp - 0xC0];
  if (cp >= 0x100 && cp <= 0x17F) base = kExtendedA[cp - 0x100];
  return base == '.' ? cp : static_cast<char32_t>(base);
}

// glibc's C.UTF-8 locale carries Unicode's case mapping; towlower_l with an
// explicit locale is thread-safe and leaves the process locale alone.
char32_t ToLower(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  if (utf8 != static_cast<locale_t>(nullptr)) {
    return static_cast<char32_t>(towlower_l(static_cast<wint_t>(cp), utf8));
  }
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;  // Latin-1 without the locale
  return cp;
}

size_t CountCodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

Status CheckSpecialTokens(const std::unordered_map<std::string, int64_t>& vocab,
                          const WordPieceOptions& o) {
  for (const std::string* t : {&o.unk_token, &o.cls_token, &o.sep_token}) {
    if (!vocab.contains(*t)) {
      return Status::Internal("the tokenizer's vocabulary has no " + *t + " token");
    }
  }
  return Status::Ok();
}

}  // namespace

// ---- construction -----------------------------------------------------------

Result<WordPieceTokenizer> WordPieceTokenizer::FromVocab(
    std::unordered_map<std::string, int64_t> vocab, const WordPieceOptions& options) {
  RETURN_IF_ERROR(CheckSpecialTokens(vocab, options));
  WordPieceTokenizer t;
  t.vocab_ = std::move(vocab);
  t.options_ = options;
  t.unk_id_ = t.vocab_.at(options.unk_token);
  t.cls_id_ = t.vocab_.at(options.cls_token);
  t.sep_id_ = t.vocab_.at(options.sep_token);
  auto pad = t.vocab_.find(options.pad_token);
  t.pad_id_ = pad == t.vocab_.end() ? 0 : pad->second;  // padding is masked out anyway
  return t;
}

Result<WordPieceTokenizer> WordPieceTokenizer::FromVocabFile(const std::string& path,
                                                             const WordPieceOptions& options) {
  std::ifstream in(path);
  if (!in) return Status::Internal("cannot read the vocabulary " + path);
  std::unordered_map<std::string, int64_t> vocab;
  std::string line;
  int64_t id = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab[line] = id++;  // a repeated token keeps its last id, as HuggingFace does
  }
  if (vocab.empty()) return Status::Internal(path + " is empty");
  return FromVocab(std::move(vocab), options);
}

Result<WordPieceTokenizer> WordPieceTokenizer::FromTokenizerJson(const std::string& path,
                                                                 const WordPieceOptions& defaults) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Internal("cannot read the tokenizer " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  ASSIGN_OR_RETURN(Json doc, ParseJson(buf.str()));
  const Json* model = FindPath(doc, "model");
  if (model == nullptr || !model->is_object() || model->value("type", "") != "WordPiece") {
    std::string type = model != nullptr && model->is_object() ? model->value("type", "?") : "?";
    return Status::Internal(path + ": the model is of type " + type +
                            "; only WordPiece tokenizers are supported");
  }
  const Json* vocab_json = FindPath(*model, "vocab");
  if (vocab_json == nullptr || !vocab_json->is_object() || vocab_json->empty()) {
    return Status::Internal(path + ": model.vocab is not an object of token ids");
  }
  std::unordered_map<std::string, int64_t> vocab;
  for (auto it = vocab_json->begin(); it != vocab_json->end(); ++it) {
    if (!it->is_number_integer()) {
      return Status::Internal(path + ": model.vocab." + it.key() + " is not an id");
    }
    vocab[it.key()] = it->get<int64_t>();
  }

  WordPieceOptions o = defaults;
  if (auto v = model->find("unk_token"); v != model->end() && v->is_string()) o.unk_token = *v;
  if (auto v = model->find("continuing_subword_prefix"); v != model->end() && v->is_string()) {
    o.continuation = *v;
  }
  if (auto v = model->find("max_input_chars_per_word");
      v != model->end() && v->is_number_integer()) {
    o.max_chars_per_word = v->get<int>();
  }
  const Json* norm = FindPath(doc, "normalizer");
  if (norm != nullptr && norm->is_object() && norm->value("type", "") == "BertNormalizer") {
    o.lowercase = norm->value("lowercase", o.lowercase);
    const Json& strip = norm->contains("strip_accents") ? (*norm)["strip_accents"] : Json();
    o.strip_accents = strip.is_boolean() ? strip.get<bool>() : o.lowercase;  // null: as lowercase
    o.split_cjk = norm->value("handle_chinese_chars", o.split_cjk);
  }
  const Json* pad = FindPath(doc, "padding.pad_token");
  if (pad != nullptr && pad->is_string()) o.pad_token = *pad;
  return FromVocab(std::move(vocab), o);
}

// ---- tokenizing ---------------------------------------------------------------

std::vector<std::string> WordPieceTokenizer::BasicTokenize(std::string_view text) const {
  std::vector<std::string> tokens;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) tokens.push_back(std::move(word));
    word.clear();
  };
  auto alone = [&](char32_t cp) {  // a token of one character
    flush();
    AppendUtf8(cp, word);
    flush();
  };
  for (size_t i = 0; i < text.size();) {
    char32_t cp = NextCodePoint(text, i);
    if (cp == 0 || cp == 0xFFFD || IsControl(cp)) continue;
    if (IsWhitespace(cp)) {
      flush();
      continue;
    }
    if (options_.split_cjk && IsCjk(cp)) {
      alone(cp);
      continue;
    }
    if (options_.lowercase) cp = ToLower(cp);
    if (options_.strip_accents) {
      if (IsCombiningMark(cp)) continue;
      cp = StripAccent(cp);
    }
    if (IsPunctuation(cp)) {
      alone(cp);
      continue;
    }
    AppendUtf8(cp, word);
  }
  flush();
  return tokens;
}

// Greedy longest-match-first over character boundaries; a word with a part
// that matches nothing becomes one [UNK] as a whole.
void WordPieceTokenizer::AppendPieces(const std::string& word,
                                      std::vector<std::string>* out) const {
  if (CountCodePoints(word) > static_cast<size_t>(options_.max_chars_per_word)) {
    out->push_back(options_.unk_token);
    return;
  }
  std::vector<size_t> bounds;  // byte offset of each character, then the end
  for (size_t i = 0; i < word.size(); ++i) {
    if ((static_cast<unsigned char>(word[i]) & 0xC0) != 0x80) bounds.push_back(i);
  }
  bounds.push_back(word.size());

  std::vector<std::string> pieces;
  size_t start = 0;
  const size_t n = bounds.size() - 1;
  while (start < n) {
    std::string match;
    size_t end = n;
    for (; end > start; --end) {
      std::string candidate = word.substr(bounds[start], bounds[end] - bounds[start]);
      if (start > 0) candidate = options_.continuation + candidate;
      if (vocab_.contains(candidate)) {
        match = std::move(candidate);
        break;
      }
    }
    if (match.empty()) {
      out->push_back(options_.unk_token);
      return;
    }
    pieces.push_back(std::move(match));
    start = end;
  }
  for (std::string& p : pieces) out->push_back(std::move(p));
}

std::vector<std::string> WordPieceTokenizer::Tokenize(std::string_view text) const {
  std::vector<std::string> pieces;
  for (const std::string& word : BasicTokenize(text)) AppendPieces(word, &pieces);
  return pieces;
}

void WordPieceTokenizer::SetLowercase(bool lowercase) {
  options_.lowercase = lowercase;
  options_.strip_accents = lowercase;
}

int64_t WordPieceTokenizer::IdOf(const std::string& token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? unk_id_ : it->second;
}

std::vector<int64_t> WordPieceTokenizer::Encode(std::string_view text, int max_tokens) const {
  std::vector<std::string> pieces = Tokenize(text);
  size_t keep = pieces.size();
  if (max_tokens >= 2) keep = std::min(keep, static_cast<size_t>(max_tokens) - 2);
  std::vector<int64_t> ids;
  ids.reserve(keep + 2);
  ids.push_back(cls_id_);
  for (size_t i = 0; i < keep; ++i) ids.push_back(IdOf(pieces[i]));
  ids.push_back(sep_id_);
  return ids;
}

WordPieceTokenizer::Pair WordPieceTokenizer::EncodePair(std::string_view first,
                                                        std::string_view second,
                                                        int max_tokens) const {
  std::vector<std::string> a = Tokenize(first), b = Tokenize(second);
  if (max_tokens >= 3) {
    const size_t budget = static_cast<size_t>(max_tokens) - 3;  // [CLS], [SEP], [SEP]
    b.resize(std::min(b.size(), budget - std::min(budget, a.size())));
    a.resize(std::min(a.size(), budget));
  }
  Pair out;
  out.ids.reserve(a.size() + b.size() + 3);
  out.ids.push_back(cls_id_);
  for (const std::string& p : a) out.ids.push_back(IdOf(p));
  out.ids.push_back(sep_id_);
  out.type_ids.assign(out.ids.size(), 0);
  for (const std::string& p : b) out.ids.push_back(IdOf(p));
  out.ids.push_back(sep_id_);
  out.type_ids.resize(out.ids.size(), 1);
  return out;
}

}  // namespace strata::extract
