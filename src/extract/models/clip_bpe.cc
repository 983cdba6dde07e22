#include "extract/models/clip_bpe.h"

#include <locale.h>
#include <wctype.h>

#include <array>
#include <climits>
#include <fstream>
#include <sstream>

#include "core/json_util.h"

namespace strata::extract {
namespace {

constexpr const char* kStartToken = "<|startoftext|>";
constexpr const char* kEndToken = "<|endoftext|>";
constexpr const char* kEndOfWord = "</w>";

locale_t Utf8Locale() {
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return utf8;
}

bool IsSpace(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r');
  const locale_t l = Utf8Locale();
  return cp == 0xA0 || (l != static_cast<locale_t>(nullptr) && iswspace_l(static_cast<wint_t>(cp), l));
}

bool IsLetter(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  const locale_t l = Utf8Locale();
  return l != static_cast<locale_t>(nullptr) && iswalpha_l(static_cast<wint_t>(cp), l) &&
         !iswdigit_l(static_cast<wint_t>(cp), l);
}

bool IsDigit(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  const locale_t l = Utf8Locale();
  return l != static_cast<locale_t>(nullptr) && iswdigit_l(static_cast<wint_t>(cp), l);
}

char32_t ToLower(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  const locale_t l = Utf8Locale();
  return l != static_cast<locale_t>(nullptr) ? static_cast<char32_t>(towlower_l(static_cast<wint_t>(cp), l))
                                             : cp;
}

void AppendUtf8(char32_t cp, std::string* out) {
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

// UTF-8 to code points; a malformed sequence becomes U+FFFD.
std::u32string DecodeUtf8(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + static_cast<size_t>(len) > s.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : c & (0x7F >> len);
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      ok &= (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    out.push_back(ok ? cp : 0xFFFD);
    i += ok ? static_cast<size_t>(len) : 1;
  }
  return out;
}

// GPT-2's bytes_to_unicode (which CLIP reuses): printable Latin-1 bytes stand
// for themselves, the others are shifted to U+0100 and up, so every byte is
// a visible character and vocab.json needs no escapes.
const std::array<std::string, 256>& ByteSymbols() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    int shifted = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      AppendUtf8(printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + shifted++), &t[static_cast<size_t>(b)]);
    }
    return t;
  }();
  return table;
}

bool StartsWith(const std::u32string& s, size_t at, std::string_view ascii) {
  if (s.size() - at < ascii.size()) return false;
  for (size_t k = 0; k < ascii.size(); ++k) {
    if (s[at + k] != static_cast<char32_t>(ascii[k])) return false;
  }
  return true;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Internal("cannot read " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace

Result<ClipBpeTokenizer> ClipBpeTokenizer::FromData(
    std::unordered_map<std::string, int64_t> vocab,
    const std::vector<std::pair<std::string, std::string>>& merges) {
  ClipBpeTokenizer t;
  t.vocab_ = std::move(vocab);
  for (size_t i = 0; i < merges.size(); ++i) {
    // The first rank wins when a pair is listed twice, as in CLIP's dict().
    t.ranks_.emplace(merges[i].first + " " + merges[i].second, static_cast<int>(i));
  }
  auto start = t.vocab_.find(kStartToken), end = t.vocab_.find(kEndToken);
  if (start == t.vocab_.end() || end == t.vocab_.end()) {
    return Status::Internal(std::string("CLIP vocabulary lacks ") + kStartToken + " or " + kEndToken);
  }
  t.start_id_ = start->second;
  t.end_id_ = end->second;
  return t;
}

Result<ClipBpeTokenizer> ClipBpeTokenizer::FromFiles(const std::string& vocab_json,
                                                     const std::string& merges_txt) {
  ASSIGN_OR_RETURN(std::string vocab_text, ReadFile(vocab_json));
  Result<Json> parsed = ParseJson(vocab_text);
  if (!parsed.ok() || !parsed->is_object()) {
    return Status::Internal(vocab_json + ": not a JSON object of token ids" +
                            (parsed.ok() ? "" : ": " + parsed.status().message()));
  }
  std::unordered_map<std::string, int64_t> vocab;
  for (auto it = parsed->begin(); it != parsed->end(); ++it) {
    if (!it.value().is_number_integer()) return Status::Internal(vocab_json + ": the id of '" + it.key() + "' is not an integer");
    vocab.emplace(it.key(), it.value().get<int64_t>());
  }
  ASSIGN_OR_RETURN(std::string merges_text, ReadFile(merges_txt));
  std::vector<std::pair<std::string, std::string>> merges;
  std::istringstream lines(merges_text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (number == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string::npos) {
      return Status::Internal(merges_txt + ":" + std::to_string(number) + ": expected two symbols separated by a space");
    }
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  Result<ClipBpeTokenizer> t = FromData(std::move(vocab), merges);
  if (!t.ok()) return Status::Internal(vocab_json + ": " + t.status().message());
  return t;
}

std::vector<std::string> ClipBpeTokenizer::Bpe(const std::string& word) const {
  std::vector<std::string> symbols;
  for (unsigned char b : word) symbols.push_back(ByteSymbols()[b]);
  if (symbols.empty()) return symbols;
  symbols.back() += kEndOfWord;
  while (symbols.size() > 1) {
    int best = INT_MAX;
    size_t best_at = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      auto it = ranks_.find(symbols[i] + " " + symbols[i + 1]);
      if (it != ranks_.end() && it->second < best) {
        best = it->second;
        best_at = i;
      }
    }
    if (best == INT_MAX) break;
    // Every occurrence of the best pair, left to right, as CLIP merges them.
    const std::string first = symbols[best_at], second = symbols[best_at + 1];
    std::vector<std::string> merged;
    for (size_t i = 0; i < symbols.size();) {
      if (i + 1 < symbols.size() && symbols[i] == first && symbols[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(symbols[i++]);
      }
    }
    symbols = std::move(merged);
  }
  return symbols;
}

std::vector<std::string> ClipBpeTokenizer::Tokenize(std::string_view text) const {
  std::u32string cps = DecodeUtf8(text);
  for (char32_t& cp : cps) cp = ToLower(cp);
  std::vector<std::string> out;
  auto emit = [&](size_t from, size_t to) {
    std::string word;
    for (size_t k = from; k < to; ++k) AppendUtf8(cps[k], &word);
    for (std::string& piece : Bpe(word)) out.push_back(std::move(piece));
  };
  const size_t n = cps.size();
  for (size_t i = 0; i < n;) {
    const char32_t c = cps[i];
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    if (StartsWith(cps, i, kStartToken) || StartsWith(cps, i, kEndToken)) {
      const std::string_view special = StartsWith(cps, i, kStartToken) ? kStartToken : kEndToken;
      out.emplace_back(special);
      i += special.size();
      continue;
    }
    if (c == '\'') {
      size_t len = 0;
      for (std::string_view suffix : {"'re", "'ve", "'ll", "'s", "'t", "'m", "'d"}) {
        if (StartsWith(cps, i, suffix)) {
          len = suffix.size();
          break;
        }
      }
      if (len > 0) {
        emit(i, i + len);
        i += len;
        continue;
      }
    }
    size_t j = i + 1;
    if (IsLetter(c)) {
      while (j < n && IsLetter(cps[j])) ++j;
    } else if (!IsDigit(c)) {  // a digit is a word of its own
      while (j < n && !IsSpace(cps[j]) && !IsLetter(cps[j]) && !IsDigit(cps[j])) ++j;
    }
    emit(i, j);
    i = j;
  }
  return out;
}

std::vector<int64_t> ClipBpeTokenizer::Encode(std::string_view text, int max_length) const {
  std::vector<int64_t> ids = {start_id_};
  for (const std::string& piece : Tokenize(text)) {
    auto it = vocab_.find(piece);
    ids.push_back(it == vocab_.end() ? end_id_ : it->second);
  }
  if (max_length >= 2 && ids.size() > static_cast<size_t>(max_length) - 1) ids.resize(static_cast<size_t>(max_length) - 1);
  ids.push_back(end_id_);
  return ids;
}

}  // namespace strata::extract
