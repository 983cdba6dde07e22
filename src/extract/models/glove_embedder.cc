#include "extract/models/glove_embedder.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace strata::extract {
namespace {

static_assert(std::endian::native == std::endian::little,
              "glove-100d.bin is little-endian and mapped as is");

// ---- tokeniser ----------------------------------------------------------

struct CodePointRange {
  char32_t lo, hi;
};
// Non-ASCII code points that end a token like ASCII punctuation and spaces do.
constexpr CodePointRange kSeparators[] = {
    {0x0080, 0x00BF},    // C1 controls, no-break space, Latin-1 punctuation (« » ¡ ¿ ©)
    {0x00D7, 0x00D7},    // ×
    {0x00F7, 0x00F7},    // ÷
    {0x2000, 0x206F},    // general punctuation: spaces, dashes, ‘ ’ “ ”, …, zero-width
    {0x20A0, 0x20CF},    // currency signs (€)
    {0x2100, 0x214F},    // letterlike symbols (™ ℃)
    {0x2190, 0x2BFF},    // arrows, maths operators, box drawing, shapes, dingbats
    {0x2E00, 0x2E7F},    // supplemental punctuation
    {0x3000, 0x303F},    // CJK symbols and punctuation (ideographic space, 。、「」)
    {0xFE10, 0xFE1F},    // vertical forms
    {0xFE30, 0xFE4F},    // CJK compatibility forms
    {0xFEFF, 0xFEFF},    // byte order mark
    {0xFF01, 0xFF0F},    // fullwidth punctuation ...
    {0xFF1A, 0xFF20},
    {0xFF3B, 0xFF40},
    {0xFF5B, 0xFF65},
    {0x1F000, 0x1FAFF},  // emoji, pictographs, playing cards
};

bool IsSeparator(char32_t cp) {
  for (const auto& r : kSeparators) {
    if (cp < r.lo) return false;  // the table is sorted
    if (cp <= r.hi) return true;
  }
  return false;
}

// Length of the UTF-8 sequence starting at s[i] and its code point, or 0 for a
// malformed sequence (which the tokeniser treats as one separator byte).
size_t DecodeUtf8(std::string_view s, size_t i, char32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char lead = b(0);
  size_t n;
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2, *cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3, *cp = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4, *cp = lead & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (b(k) & 0x3F);
  }
  return n;
}

bool IsAsciiAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// ---- float16 ------------------------------------------------------------

float HalfToFloatSlow(uint16_t h) {
  const int exponent = (h >> 10) & 0x1F;
  const int mantissa = h & 0x3FF;
  float f;
  if (exponent == 0) {
    f = std::ldexp(static_cast<float>(mantissa), -24);  // zero, subnormal
  } else if (exponent == 31) {
    f = mantissa ? NAN : INFINITY;
  } else {
    f = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  }
  return (h & 0x8000) ? -f : f;
}

// All 65,536 halves converted once (256 KiB, stays in cache): a table lookup
// is as fast as F16C and needs no CPU check.
const float* HalfTable() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t h = 0; h < 65536; ++h) t[h] = HalfToFloatSlow(static_cast<uint16_t>(h));
    return t;
  }();
  return table.data();
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// ---- file format (see scripts/convert_glove.py) -----------------------------

constexpr char kMagic[8] = {'S', 'T', 'R', 'G', 'L', 'O', 'V', 'E'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kFloat16 = 1;
constexpr uint32_t kHasComponent = 1;

struct Header {
  char magic[8];
  uint32_t version, vocab_size, dims, value_type, flags;
  float sif_a;
  uint64_t offsets_pos, words_pos, vectors_pos, component_pos, file_size;
};
static_assert(sizeof(Header) == 72);

}  // namespace

bool GloveTokenizer::Next(std::string_view* token) {
  size_t len = 0;
  bool too_long = false;
  const auto emit = [&]() {
    const bool ok = len > 0 && !too_long;
    if (ok) *token = std::string_view(buf_, len);
    len = 0;
    too_long = false;
    return ok;
  };
  while (pos_ < text_.size()) {
    const auto c = static_cast<unsigned char>(text_[pos_]);
    size_t n = 1;
    bool in_word;
    if (c < 0x80) {
      in_word = IsAsciiAlnum(c);
    } else {
      char32_t cp = 0;
      n = DecodeUtf8(text_, pos_, &cp);
      in_word = n > 0 && !IsSeparator(cp);
      if (n == 0) n = 1;
    }
    if (in_word) {
      if (len + n > kMaxTokenBytes) {
        too_long = true;
      } else {
        for (size_t k = 0; k < n; ++k) {
          char b = text_[pos_ + k];
          buf_[len++] = (b >= 'A' && b <= 'Z') ? static_cast<char>(b + ('a' - 'A')) : b;
        }
      }
      pos_ += n;
    } else {
      pos_ += n;
      if (emit()) return true;
    }
  }
  return emit();
}

std::vector<std::string> GloveTokens(std::string_view text) {
  std::vector<std::string> out;
  GloveTokenizer tok(text);
  for (std::string_view t; tok.Next(&t);) out.emplace_back(t);
  return out;
}

Result<std::unique_ptr<GloveEmbedder>> GloveEmbedder::Load(const std::string& path) {
  std::unique_ptr<GloveEmbedder> e(new GloveEmbedder());
  RETURN_IF_ERROR(e->Init(path));
  return e;
}

GloveEmbedder::~GloveEmbedder() {
  if (map_ != nullptr) munmap(map_, map_size_);
}

Status GloveEmbedder::Init(const std::string& path) {
  const auto bad = [&](const std::string& why) {
    return Status::Internal("GloVe model " + path + " is not a valid glove-100d.bin (" + why +
                            "); delete it and run scripts/fetch_models.sh");
  };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Unavailable("cannot open GloVe model " + path + ": " + strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(128)) {
    close(fd);
    return bad("too short");
  }
  map_size_ = static_cast<size_t>(st.st_size);
  void* map = mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);  // the mapping keeps the file
  if (map == MAP_FAILED) return Status::Internal("cannot map " + path + ": " + strerror(errno));
  map_ = map;
  // Start reading the whole file in now: the first texts would otherwise fault
  // their rows in one page at a time.
  madvise(map_, map_size_, MADV_WILLNEED);

  const char* base = static_cast<const char*>(map_);
  Header h;
  std::memcpy(&h, base, sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) return bad("wrong magic");
  if (h.version != kVersion) return bad("version " + std::to_string(h.version));
  if (h.value_type != kFloat16) return bad("value type " + std::to_string(h.value_type));
  if (h.vocab_size == 0 || h.dims == 0 || h.dims > 4096) return bad("empty or oversized");
  if (h.file_size != map_size_) return bad("truncated");
  const uint64_t n = h.vocab_size, d = h.dims;
  const bool has_component = (h.flags & kHasComponent) != 0;
  if (h.offsets_pos % 4 != 0 || h.vectors_pos % 2 != 0 ||
      h.offsets_pos + (n + 1) * 4 > h.words_pos || h.vectors_pos + n * d * 2 > map_size_ ||
      (has_component && h.component_pos + d * 4 > map_size_)) {
    return bad("sections out of bounds");
  }
  word_offsets_ = reinterpret_cast<const uint32_t*>(base + h.offsets_pos);
  word_blob_ = base + h.words_pos;
  for (uint64_t r = 0; r < n; ++r) {
    if (word_offsets_[r] > word_offsets_[r + 1]) return bad("word offsets out of order");
  }
  if (h.words_pos + word_offsets_[n] > h.vectors_pos) return bad("words overlap vectors");
  vectors_ = reinterpret_cast<const uint16_t*>(base + h.vectors_pos);
  if (!(h.sif_a > 0 && h.sif_a < 1)) return bad("SIF parameter out of range");

  vocab_size_ = h.vocab_size;
  dims_ = h.dims;
  sif_a_ = h.sif_a;
  harmonic_ = std::log(static_cast<double>(n)) + 0.5772156649 + 1.0 / (2.0 * static_cast<double>(n));
  if (has_component) {
    component_.resize(d);
    std::memcpy(component_.data(), base + h.component_pos, d * 4);
    double norm = 0;
    for (float x : component_) norm += static_cast<double>(x) * x;
    if (!(std::abs(norm - 1) < 1e-3)) return bad("common component is not a unit vector");
  }
  BuildIndex();
  char a[32];
  snprintf(a, sizeof a, "%g", static_cast<double>(sif_a_));
  fingerprint_ = name_ + "/v1/n=" + std::to_string(vocab_size_) + "/a=" + a +
                 (has_component ? "/pc1" : "/pc0");
  return Status::Ok();
}

std::string_view GloveEmbedder::WordAt(uint32_t rank) const {
  return {word_blob_ + word_offsets_[rank], word_offsets_[rank + 1] - word_offsets_[rank]};
}

void GloveEmbedder::BuildIndex() {
  size_t slots = 1;
  while (slots < 2ull * vocab_size_) slots <<= 1;  // load factor <= 1/2
  index_.assign(slots, 0);
  index_mask_ = slots - 1;
  for (uint32_t r = 0; r < vocab_size_; ++r) {
    const std::string_view w = WordAt(r);
    uint64_t i = Fnv1a(w) & index_mask_;
    bool duplicate = false;
    for (; index_[i] != 0; i = (i + 1) & index_mask_) {
      if (WordAt(index_[i] - 1) == w) {
        duplicate = true;  // keep the more frequent rank
        break;
      }
    }
    if (!duplicate) index_[i] = r + 1;
  }
}

int64_t GloveEmbedder::RankOf(std::string_view word) const {
  for (uint64_t i = Fnv1a(word) & index_mask_; index_[i] != 0; i = (i + 1) & index_mask_) {
    if (WordAt(index_[i] - 1) == word) return index_[i] - 1;
  }
  return -1;
}

void GloveEmbedder::EmbedInto(std::string_view text, float* out) const {
  const float* half = HalfTable();
  std::fill(out, out + dims_, 0.0f);
  bool any = false;
  GloveTokenizer tok(text);
  for (std::string_view t; tok.Next(&t);) {
    const int64_t r = RankOf(t);
    if (r < 0) continue;
    const double p = 1.0 / (static_cast<double>(r + 1) * harmonic_);  // Zipf
    const auto w = static_cast<float>(sif_a_ / (sif_a_ + p));
    const uint16_t* row = vectors_ + static_cast<size_t>(r) * dims_;
    for (uint32_t k = 0; k < dims_; ++k) out[k] += w * half[row[k]];
    any = true;
  }
  if (!any) return;
  if (!component_.empty()) {
    float dot = 0;
    for (uint32_t k = 0; k < dims_; ++k) dot += out[k] * component_[k];
    for (uint32_t k = 0; k < dims_; ++k) out[k] -= dot * component_[k];
  }
  double norm = 0;
  for (uint32_t k = 0; k < dims_; ++k) norm += static_cast<double>(out[k]) * out[k];
  norm = std::sqrt(norm);
  if (norm < 1e-9) {  // a lone word along the common component: no direction left
    std::fill(out, out + dims_, 0.0f);
    return;
  }
  const auto inv = static_cast<float>(1.0 / norm);
  for (uint32_t k = 0; k < dims_; ++k) out[k] *= inv;
}

std::vector<float> GloveEmbedder::EmbedOne(std::string_view text) const {
  std::vector<float> v(dims_);
  EmbedInto(text, v.data());
  return v;
}

Result<std::vector<std::vector<float>>> GloveEmbedder::Embed(const std::vector<std::string>& texts,
                                                             EmbedRole /*role*/) {
  std::vector<std::vector<float>> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.push_back(EmbedOne(t));
  return out;
}

}  // namespace strata::extract
