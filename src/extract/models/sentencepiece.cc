#include "extract/models/sentencepiece.h"

#include <algorithm>
#include <fstream>
#include <sstream>

// NFKC comes from ICU (Debian: libicu-dev), as the reference tokenizer's
// String.prototype.normalize('NFKC') does in JavaScript engines.
#include <unicode/unorm2.h>

namespace strata::extract {
namespace {

constexpr char16_t kSpace = u' ';
constexpr char16_t kWordBoundary = u'\u2581';  // "▁", SentencePiece's word start
constexpr char16_t kReplacement = u'\uFFFD';

// ICU's NFKC normaliser: a process-wide singleton that ICU owns; null (with
// the reason) when ICU's normalisation data cannot be loaded.
struct Icu {
  const UNormalizer2* nfkc = nullptr;
  std::string error;
};

const Icu& LoadIcu() {
  static const Icu icu = [] {
    Icu out;
    UErrorCode status = U_ZERO_ERROR;
    out.nfkc = unorm2_getNFKCInstance(&status);
    if (U_FAILURE(status) || out.nfkc == nullptr) {
      out.nfkc = nullptr;
      out.error = "ICU's NFKC data is missing (error " + std::to_string(status) + ")";
    }
    return out;
  }();
  return icu;
}

// UTF-8 to UTF-16; a byte that does not start a valid sequence (or a sequence
// cut short, overlong, a surrogate, beyond U+10FFFF) becomes one U+FFFD.
std::u16string Utf8ToUtf16(std::string_view s, bool* ascii) {
  std::u16string out;
  out.reserve(s.size());
  *ascii = true;
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    *ascii = false;
    const int extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0;
    char32_t cp = extra == 3 ? b & 0x07 : extra == 2 ? b & 0x0F : b & 0x1F;
    bool ok = extra > 0 && b <= 0xF4 && i + static_cast<size_t>(extra) < s.size();
    for (int k = 1; ok && k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      ok = (c & 0xC0) == 0x80;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (ok && (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (!ok) {
      out.push_back(kReplacement);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
    i += static_cast<size_t>(extra) + 1;
  }
  return out;
}

Status BadVocab(const std::string& origin, const std::string& why) {
  return Status::Internal("SentencePiece vocabulary " + origin + ": " + why);
}

}  // namespace

std::string Utf16ToUtf8(std::u16string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char32_t cp = text[i];
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < text.size() && text[i + 1] >= 0xDC00 &&
        text[i + 1] <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (text[i + 1] - 0xDC00);
      ++i;
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
      cp = kReplacement;
    }
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

bool NfkcAvailable(std::string* why) {
  const Icu& icu = LoadIcu();
  if (icu.nfkc == nullptr && why != nullptr) *why = icu.error;
  return icu.nfkc != nullptr;
}

Result<std::u16string> NfkcUtf16(std::string_view utf8) {
  bool ascii = true;
  std::u16string text = Utf8ToUtf16(utf8, &ascii);
  if (ascii) return text;  // every ASCII character is its own NFKC form
  const Icu& icu = LoadIcu();
  if (icu.nfkc == nullptr) return Status::Unavailable("NFKC normalisation: " + icu.error);
  if (text.size() > static_cast<size_t>(INT32_MAX / 4)) {
    return Status::Invalid("text", "text too long to normalise");
  }
  // NFKC may grow text (U+FDFA is 18 characters); ICU says how much room it needs.
  std::u16string out(text.size() * 2 + 16, u'\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    UErrorCode status = U_ZERO_ERROR;
    const int32_t n = unorm2_normalize(icu.nfkc, text.data(), static_cast<int32_t>(text.size()), out.data(),
                                       static_cast<int32_t>(out.size()), &status);
    if (status == U_BUFFER_OVERFLOW_ERROR && attempt == 0) {
      out.assign(static_cast<size_t>(n), u'\0');
      continue;
    }
    if (U_FAILURE(status)) {
      return Status::Internal("NFKC normalisation failed (ICU error " + std::to_string(status) + ")");
    }
    out.resize(static_cast<size_t>(n));
    return out;
  }
  return Status::Internal("NFKC normalisation failed (output kept growing)");
}

Result<SentencePieceTokenizer> SentencePieceTokenizer::FromVocabJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Unavailable("cannot read SentencePiece vocabulary " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  // The vocabulary nests two levels deep; the limit only guards parsing.
  Result<Json> parsed = ParseJson(buf.str(), 8);
  if (!parsed.ok()) return BadVocab(path, parsed.status().message());
  return FromJson(*parsed, path);
}

Result<SentencePieceTokenizer> SentencePieceTokenizer::FromJson(const Json& vocab,
                                                                const std::string& origin) {
  if (!vocab.is_array()) return BadVocab(origin, "not a JSON array of [piece, score]");
  if (vocab.empty()) return BadVocab(origin, "is empty");
  std::vector<std::pair<std::string, double>> pieces;
  pieces.reserve(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) {
    const Json& e = vocab[i];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() ||
        !(e[1].is_number() || e[1].is_null())) {
      return BadVocab(origin, "entry " + std::to_string(i) + " is not [piece, score]");
    }
    // USE's vocab.json has null scores (":" and a few pieces with it): the
    // reference adds them to numbers, where null is 0.
    pieces.emplace_back(e[0].get<std::string>(), e[1].is_null() ? 0.0 : e[1].get<double>());
  }
  return FromPieces(pieces);
}

Result<SentencePieceTokenizer> SentencePieceTokenizer::FromPieces(
    const std::vector<std::pair<std::string, double>>& pieces) {
  std::string why;
  if (!NfkcAvailable(&why)) return Status::Unavailable("SentencePiece tokenizer: " + why);
  if (pieces.empty()) return BadVocab("(pieces)", "is empty");
  SentencePieceTokenizer t;
  t.nodes_.emplace_back();
  t.pieces_.reserve(pieces.size());
  t.length16_.reserve(pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    bool ascii = true;
    // Pieces are taken as they are (the reference does not normalise them).
    std::u16string p = Utf8ToUtf16(pieces[i].first, &ascii);
    t.pieces_.push_back(pieces[i].first);
    t.length16_.push_back(static_cast<int32_t>(p.size()));
    if (static_cast<int>(i) >= kReservedSymbols) t.Insert(p, pieces[i].second, static_cast<int32_t>(i));
  }
  for (Node& n : t.nodes_) std::sort(n.children.begin(), n.children.end());
  return t;
}

void SentencePieceTokenizer::Insert(const std::u16string& piece, double score, int32_t id) {
  if (piece.empty()) return;  // the reference's trie ignores it
  int32_t node = 0;
  for (char16_t c : piece) {
    int32_t next = -1;
    for (const auto& [symbol, child] : nodes_[node].children) {
      if (symbol == c) next = child;
    }
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_[node].children.emplace_back(c, next);
      nodes_.emplace_back();  // invalidates references into nodes_: none held
    }
    node = next;
  }
  // A repeated piece: the later id and score replace the earlier, as in the reference.
  nodes_[node].id = id;
  nodes_[node].score = score;
}

int32_t SentencePieceTokenizer::Child(int32_t node, char16_t symbol) const {
  const auto& children = nodes_[node].children;
  auto it = std::lower_bound(children.begin(), children.end(), symbol,
                             [](const std::pair<char16_t, int32_t>& e, char16_t s) { return e.first < s; });
  return it != children.end() && it->first == symbol ? it->second : -1;
}

const std::string& SentencePieceTokenizer::piece(int32_t id) const {
  static const std::string kNone;
  return id >= 0 && id < size() ? pieces_[id] : kNone;
}

std::vector<int32_t> SentencePieceTokenizer::Encode(std::string_view text) const {
  Result<std::u16string> normalized = NfkcUtf16(text);
  // Only an ICU failure on non-ASCII text gets here (its loading was checked
  // when the tokenizer was built): the text is then taken as it is.
  std::u16string s;
  if (normalized.ok()) {
    s = std::move(normalized).value();
  } else {
    bool ascii = true;
    s = Utf8ToUtf16(text, &ascii);
  }
  if (s.empty()) return {};
  std::u16string symbols;
  symbols.reserve(s.size() + 1);
  symbols.push_back(kWordBoundary);
  for (char16_t c : s) symbols.push_back(c == kSpace ? kWordBoundary : c);
  return EncodeSymbols(symbols);
}

std::vector<int32_t> SentencePieceTokenizer::EncodeSymbols(const std::u16string& symbols) const {
  const size_t n = symbols.size();
  // The lattice: every piece starting at each position (the unknown id where
  // none does), grouped by end in increasing order of start, the order in
  // which the reference visits them.
  struct Arc {
    int32_t start;
    int32_t id;
    double score;
  };
  std::vector<std::vector<Arc>> ending(n + 1);
  for (size_t i = 0; i < n; ++i) {
    bool matched = false;
    int32_t node = Child(0, symbols[i]);
    for (size_t k = i; node >= 0; ) {
      if (nodes_[node].id >= 0) {
        ending[k + 1].push_back({static_cast<int32_t>(i), nodes_[node].id, nodes_[node].score});
        matched = true;
      }
      if (++k >= n) break;
      node = Child(node, symbols[k]);
    }
    if (!matched) ending[i + 1].push_back({static_cast<int32_t>(i), kUnknownId, 0.0});
  }

  // Viterbi, as the reference does it: best 0 is "not set yet" (so a real
  // best of exactly 0 is replaced by the next arc), and ties go to the later arc.
  std::vector<double> best(n + 1, 0.0);
  std::vector<int32_t> words(n + 1, kUnknownId);
  for (size_t end = 1; end <= n; ++end) {
    for (const Arc& a : ending[end]) {
      const double score = a.score + best[static_cast<size_t>(a.start)];
      if (best[end] == 0 || score >= best[end]) {
        best[end] = score;
        words[end] = a.id;
      }
    }
  }

  // Backward pass: the reference steps back by the UTF-16 length of the
  // chosen id's piece (the unknown id steps by the length of piece 0, "�": 1).
  std::vector<int32_t> ids;
  int64_t at = static_cast<int64_t>(n);
  while (at > 0) {
    const int32_t id = words[static_cast<size_t>(at)];
    ids.push_back(id);
    at -= std::max<int32_t>(1, length16_[static_cast<size_t>(id)]);  // never stalls
  }
  std::reverse(ids.begin(), ids.end());

  // Consecutive unknowns become one.
  std::vector<int32_t> merged;
  merged.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == kUnknownId && i > 0 && ids[i - 1] == kUnknownId) continue;
    merged.push_back(ids[i]);
  }
  return merged;
}

}  // namespace strata::extract
