#include "extract/chunker.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <memory>
#include <streambuf>

namespace strata::extract {

namespace {

// Where errors about the text point: the extractor's input.
constexpr const char* kTextLocation = "inputs.text";

// ---------------------------------------------------------------------------
// UTF-8 helpers. Everything after BlockReader sees only validated blocks made
// of whole code points, so these may read a code point's continuation bytes
// without bounds checks.

constexpr bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

constexpr bool IsAsciiSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Length of the (valid) sequence led by `lead`.
constexpr size_t SequenceLength(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// Length of the non-ASCII whitespace code point at p (p[0] >= 0x80), or 0:
// U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
inline size_t UnicodeSpaceLength(const unsigned char* p) {
  switch (p[0]) {
    case 0xC2:
      return (p[1] == 0x85 || p[1] == 0xA0) ? 2 : 0;
    case 0xE1:
      return (p[1] == 0x9A && p[2] == 0x80) ? 3 : 0;
    case 0xE2:
      if (p[1] == 0x80) return (p[2] <= 0x8A || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF) ? 3 : 0;
      if (p[1] == 0x81) return p[2] == 0x9F ? 3 : 0;
      return 0;
    case 0xE3:
      return (p[1] == 0x80 && p[2] == 0x80) ? 3 : 0;
    default:
      return 0;
  }
}

// Length of the whitespace code point at p, or 0.
inline size_t SpaceLength(const unsigned char* p) {
  if (p[0] < 0x80) return IsAsciiSpace(p[0]) ? 1 : 0;
  return UnicodeSpaceLength(p);
}

// `s` (whole code points) without leading and trailing whitespace.
std::string_view TrimSpace(std::string_view s) {
  auto u = [&](size_t i) { return reinterpret_cast<const unsigned char*>(s.data()) + i; };
  size_t b = 0;
  while (b < s.size()) {
    size_t n = SpaceLength(u(b));
    if (n == 0) break;
    b += n;
  }
  size_t e = s.size();
  while (e > b) {
    size_t lead = e - 1;
    while (lead > b && IsContinuation(*u(lead))) --lead;
    if (SpaceLength(u(lead)) == 0) break;
    e = lead;
  }
  return s.substr(b, e - b);
}

// A table of 256 flags, one per byte value.
using ByteTable = std::array<bool, 256>;

// Validates p[0, n) as UTF-8 (Unicode Table 3-7: no overlongs, no surrogates,
// nothing above U+10FFFF). Returns the length of the prefix made of whole
// valid sequences. When it stops short of n, *invalid says whether p[result]
// starts an invalid sequence, or a valid one that n cuts (the caller carries
// it over to the next block, or reports it at the end of the stream).
size_t ValidUtf8Prefix(const unsigned char* p, size_t n, bool* invalid) {
  *invalid = false;
  size_t i = 0;
  while (i < n) {
    // ASCII fast path: eight bytes at a time while none has the high bit.
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      uint64_t high = w & 0x8080808080808080ull;
      if (high == 0) {
        i += 8;
        continue;
      }
      // Skip the ASCII bytes before the first high one (byte 0 is the low
      // byte of w on a little-endian machine).
      if constexpr (std::endian::native == std::endian::little) i += std::countr_zero(high) / 8;
    }
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong below U+0800
      if (c == 0xED) hi = 0x9F;  // surrogates U+D800..U+DFFF
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong below U+10000
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      *invalid = true;  // a stray continuation byte, C0/C1 (overlong) or F5..FF
      return i;
    }
    size_t avail = std::min(len, n - i);
    if (avail >= 2 && (p[i + 1] < lo || p[i + 1] > hi)) {
      *invalid = true;
      return i;
    }
    for (size_t k = 2; k < avail; ++k) {
      if (!IsContinuation(p[i + k])) {
        *invalid = true;
        return i;
      }
    }
    if (avail < len) return i;  // cut by the end of the buffer
    i += len;
  }
  return i;
}

Status InvalidUtf8(int64_t offset) {
  return Status::Invalid(kTextLocation, "invalid UTF-8 at byte offset " + std::to_string(offset), "invalid_utf8");
}

// Reads the stream in blocks and hands out validated UTF-8 that always ends on
// a code point boundary: the up to three bytes of a sequence cut by a block's
// end move to the front of the next block.
class BlockReader {
 public:
  BlockReader(std::istream& in, size_t block_bytes) : in_(in), block_(block_bytes), buf_(block_bytes + 4) {}

  // The next block of whole code points; empty at the end of the stream.
  Result<std::string_view> Next() {
    for (;;) {
      if (eof_) {
        if (carry_ > 0) return InvalidUtf8(offset_);  // a sequence cut by the end of the text
        return std::string_view();
      }
      std::memmove(buf_.data(), buf_.data() + carry_from_, carry_);
      in_.read(buf_.data() + carry_, static_cast<std::streamsize>(block_));
      size_t got = static_cast<size_t>(in_.gcount());
      if (in_.bad()) {
        return Status::Internal("reading the text failed near byte offset " + std::to_string(offset_));
      }
      if (got < block_) eof_ = true;
      size_t n = carry_ + got;
      const auto* p = reinterpret_cast<const unsigned char*>(buf_.data());
      bool invalid = false;
      size_t valid = ValidUtf8Prefix(p, n, &invalid);
      if (invalid) return InvalidUtf8(offset_ + static_cast<int64_t>(valid));
      carry_from_ = valid;
      carry_ = n - valid;
      std::string_view out(buf_.data(), valid);
      offset_ += static_cast<int64_t>(valid);
      if (!bom_checked_ && !out.empty()) {
        bom_checked_ = true;  // the first code point of the text
        if (out.substr(0, 3) == "\xEF\xBB\xBF") out.remove_prefix(3);
      }
      if (!out.empty()) return out;
    }
  }

 private:
  std::istream& in_;
  size_t block_;
  std::vector<char> buf_;
  size_t carry_from_ = 0;  // the carried bytes are buf_[carry_from_, carry_from_ + carry_)
  size_t carry_ = 0;
  int64_t offset_ = 0;  // stream offset of the first byte not yet handed out
  bool eof_ = false;
  bool bom_checked_ = false;
};

// ---------------------------------------------------------------------------
// Chunk output: numbers chunks, calls the emitter (ChunkText) or only counts
// (CountChunks, where words, sentences and paragraphs do not even assemble
// chunk texts; characters keep theirs to skip whitespace-only windows).

class Sink {
 public:
  explicit Sink(const ChunkEmitFn* emit) : emit_(emit) {}

  bool keeps_text() const { return emit_ != nullptr; }
  int64_t count() const { return count_; }

  // The next chunk, unless `text` is empty (a whitespace-only window).
  Status Emit(std::string_view text) {
    if (text.empty()) return Status::Ok();
    if (emit_ != nullptr) RETURN_IF_ERROR((*emit_)(count_, text));
    ++count_;
    return Status::Ok();
  }
  // A chunk known to be non-empty whose text was not assembled (counting).
  void CountOne() { ++count_; }

 private:
  const ChunkEmitFn* emit_;
  int64_t count_ = 0;
};

class Segmenter {
 public:
  virtual ~Segmenter() = default;
  virtual Status Feed(std::string_view block) = 0;  // whole code points
  virtual Status Finish() = 0;                      // end of the text
};

// Drops the text in front of `live_from` once it is at least as large as the
// live part, so sliding by a few units costs amortised O(1) per byte instead
// of a memmove of the whole window per chunk.
void CompactFront(std::string& text, size_t& live_from) {
  if (live_from >= (64u << 10) && live_from >= text.size() - live_from) {
    text.erase(0, live_from);
    live_from = 0;
  }
}

// ---------------------------------------------------------------------------
// characters: counts code points directly in the block (eight bytes at a time),
// so the window is one string and no per-unit bookkeeping is needed.

// The byte length of the first `want` code points of `s` (all of `s` when it
// holds fewer); *got receives how many that is. `s` starts at a code point.
size_t PrefixOfCodePoints(std::string_view s, int64_t want, int64_t* got) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  int64_t c = 0;
  // A code point starts at every byte that is not a continuation byte
  // (10xxxxxx); continuation bytes have bit 7 set and bit 6 clear.
  while (want - c >= 8 && i + 8 <= n) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    uint64_t cont = (w & ~(w << 1) & 0x8080808080808080ull) >> 7;  // 1 in each continuation byte
    // Sum of the eight bytes (a multiply, as std::popcount may be a library
    // call without -mpopcnt).
    c += 8 - static_cast<int64_t>((cont * 0x0101010101010101ull) >> 56);
    i += 8;
  }
  // Byte by byte up to the lead byte of code point want + 1.
  for (; i < n; ++i) {
    if (!IsContinuation(p[i])) {
      if (c == want) break;
      ++c;
    }
  }
  *got = c;
  return i;
}

class CharacterChunker : public Segmenter {
 public:
  CharacterChunker(const ChunkOptions& o, Sink& sink)
      : size_(o.chunk_size), step_(o.chunk_size - o.chunk_overlap), sink_(sink) {}

  Status Feed(std::string_view block) override {
    while (!block.empty()) {
      int64_t got = 0;
      size_t take = PrefixOfCodePoints(block, size_ - count_, &got);
      text_.append(block.data(), take);
      block.remove_prefix(take);
      count_ += got;
      if (got > 0) fresh_ = true;
      if (count_ == size_) RETURN_IF_ERROR(EmitAndSlide());
    }
    return Status::Ok();
  }

  Status Finish() override {
    // The tail holds code points no chunk had yet.
    if (fresh_) return sink_.Emit(TrimSpace(Window()));
    return Status::Ok();
  }

 private:
  std::string_view Window() const { return std::string_view(text_).substr(live_from_); }

  Status EmitAndSlide() {
    RETURN_IF_ERROR(sink_.Emit(TrimSpace(Window())));
    fresh_ = false;
    int64_t dropped = 0;
    live_from_ += PrefixOfCodePoints(Window(), step_, &dropped);
    count_ -= dropped;
    if (count_ == 0) {
      text_.clear();
      live_from_ = 0;
    } else {
      CompactFront(text_, live_from_);
    }
    return Status::Ok();
  }

  const int64_t size_, step_;
  Sink& sink_;
  std::string text_;       // the window's code points from live_from_ (dead bytes before)
  size_t live_from_ = 0;
  int64_t count_ = 0;      // code points in the window
  bool fresh_ = false;     // the window has code points not yet in an emitted chunk
};

// ---------------------------------------------------------------------------
// words, sentences, paragraphs: a segmenter cuts the text into units and a
// UnitWindow groups them into chunks.

// A FIFO of positions that keeps its storage as the window slides (a
// std::deque would allocate and free blocks all the time).
class PositionQueue {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t front() const { return buf_[head_]; }
  void push_back(int64_t v) {
    if (size_ == buf_.size()) Grow();
    buf_[(head_ + size_) & (buf_.size() - 1)] = v;
    ++size_;
  }
  void pop_front(size_t k) {  // k <= size()
    if (k == 0) return;
    head_ = (head_ + k) & (buf_.size() - 1);
    size_ -= k;
  }

 private:
  void Grow() {  // capacity stays a power of two, so wrapping is a mask
    std::vector<int64_t> next(std::max<size_t>(16, buf_.size() * 2));
    for (size_t i = 0; i < size_; ++i) next[i] = buf_[(head_ + i) & (buf_.size() - 1)];
    buf_.swap(next);
    head_ = 0;
  }

  std::vector<int64_t> buf_;
  size_t head_ = 0;
  size_t size_ = 0;
};

// The hot path (one call per word) reports failure as a bool and keeps the
// emitter's status aside: building and destroying a Status per unit would
// cost more than the rest of the work on a word.
class UnitWindow {
 public:
  UnitWindow(const ChunkOptions& o, std::string_view separator, Sink& sink)
      : size_(o.chunk_size),
        overlap_(o.chunk_overlap),
        cap_(o.max_chunk_bytes),
        sep_(separator),
        sink_(sink),
        keep_(sink.keeps_text()) {}

  // Appends a unit: non-empty, trimmed, at most max_chunk_bytes. False when
  // the emitter failed (see TakeStatus).
  bool Add(std::string_view unit) {
    const auto len = static_cast<int64_t>(unit.size());
    const auto sep = static_cast<int64_t>(sep_.size());
    if (!starts_.empty() && Bytes() + sep + len > cap_ && !MakeRoom(len)) return false;
    int64_t start = end_;
    if (starts_.empty()) {
      text_.clear();
      base_ = end_;
    } else {
      start += sep;
      if (keep_) text_.append(sep_);
    }
    if (keep_) text_.append(unit);
    starts_.push_back(start);
    end_ = start + len;
    if (static_cast<int64_t>(starts_.size()) == size_) {
      if (!EmitWindow()) return false;
      DropFront(size_ - overlap_);
    }
    return true;
  }

  bool Finish() { return static_cast<int64_t>(starts_.size()) > emitted_ ? EmitWindow() : true; }

  Status TakeStatus() { return std::move(status_); }

 private:
  // Positions are offsets in the (virtual) concatenation of everything added,
  // so they stay valid when the text is compacted, or not kept at all.
  int64_t Bytes() const { return end_ - starts_.front(); }

  // Size cap: closes the chunk early, or lets go of overlap units that were
  // already emitted, until a unit of `len` bytes fits.
  bool MakeRoom(int64_t len) {
    while (!starts_.empty() && Bytes() + static_cast<int64_t>(sep_.size()) + len > cap_) {
      const auto n = static_cast<int64_t>(starts_.size());
      if (n > emitted_) {
        if (!EmitWindow()) return false;
        DropFront(std::max<int64_t>(1, n - overlap_));
      } else {
        DropFront(1);
      }
    }
    return true;
  }

  bool EmitWindow() {
    emitted_ = static_cast<int64_t>(starts_.size());
    if (!keep_) {
      sink_.CountOne();  // units are never whitespace, so the chunk is not empty
      return true;
    }
    status_ = sink_.Emit(std::string_view(text_).substr(static_cast<size_t>(starts_.front() - base_),
                                                        static_cast<size_t>(Bytes())));
    return status_.ok();
  }

  void DropFront(int64_t k) {
    k = std::min<int64_t>(k, static_cast<int64_t>(starts_.size()));
    starts_.pop_front(static_cast<size_t>(k));
    emitted_ = std::max<int64_t>(0, emitted_ - k);
    if (starts_.empty() || !keep_) return;
    auto live_from = static_cast<size_t>(starts_.front() - base_);
    CompactFront(text_, live_from);
    base_ = starts_.front() - static_cast<int64_t>(live_from);
  }

  const int64_t size_, overlap_, cap_;
  const std::string_view sep_;
  Sink& sink_;
  const bool keep_;
  PositionQueue starts_;        // start position of each unit in the window
  int64_t end_ = 0;             // end position of the last unit added
  int64_t emitted_ = 0;         // how many front units an emitted chunk already had
  std::string text_;            // units joined by sep_, text_[0] at position base_
  int64_t base_ = 0;
  Status status_;               // the emitter's error, once Add returned false
};

// Collects a unit that spans blocks (or is cut for the size cap) in cur_.
// Like UnitWindow::Add, Append and Flush return false when the emitter failed.
class UnitBuilder : public Segmenter {
 public:
  UnitBuilder(const ChunkOptions& o, std::string_view separator, Sink& sink)
      : cap_(static_cast<size_t>(o.max_chunk_bytes)), window_(o, separator, sink) {}

 protected:
  // Appends [p, q) to the current unit; a unit reaching the size cap is
  // flushed and a new one begins (cut at a code point boundary).
  bool Append(const unsigned char* p, const unsigned char* q) {
    size_t n = static_cast<size_t>(q - p);
    while (cur_.size() + n > cap_) {
      size_t cut = cap_ - cur_.size();  // < n
      while (cut > 0 && IsContinuation(p[cut])) --cut;
      cur_.append(reinterpret_cast<const char*>(p), cut);
      p += cut;
      n -= cut;
      if (!Flush()) return false;
    }
    cur_.append(reinterpret_cast<const char*>(p), n);
    return true;
  }

  // Ends the current unit.
  bool Flush() {
    std::string_view unit = TrimSpace(cur_);
    bool ok = unit.empty() || window_.Add(unit);
    cur_.clear();
    OnFlush();
    return ok;
  }
  virtual void OnFlush() {}

  // The end of a Feed or Finish: the emitter's error if a call returned false.
  Status Done(bool ok) { return ok ? Status::Ok() : window_.TakeStatus(); }

  const size_t cap_;
  UnitWindow window_;
  std::string cur_;
};

// The first byte in [p, end) that may end a word: one <= 0x20 (ASCII
// whitespace is among them) or >= 0x80 (the lead of a possible Unicode space).
// Eight bytes at a time, since most words fit in one such step.
inline const unsigned char* NextCandidate(const unsigned char* p, const unsigned char* end) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      // (w - 0x21 per byte) & ~w sets the high bit of bytes below 0x21 (exact
      // up to the first one, which is all we use); | w adds the high bytes.
      uint64_t m = (((w - 0x21 * kOnes) & ~w) | w) & kHigh;
      if (m != 0) return p + std::countr_zero(m) / 8;
      p += 8;
    }
  }
  while (p < end && *p > 0x20 && *p < 0x80) ++p;
  return p;
}

class WordSegmenter : public UnitBuilder {
 public:
  WordSegmenter(const ChunkOptions& o, Sink& sink) : UnitBuilder(o, " ", sink) {}

  Status Feed(std::string_view block) override {
    const auto* p = reinterpret_cast<const unsigned char*>(block.data());
    const auto* end = p + block.size();
    while (p < end) {
      if (!in_word_) {
        size_t n;
        while (p < end && (n = SpaceLength(p)) > 0) p += n;
        if (p == end) break;
        in_word_ = true;
      }
      const unsigned char* start = p;
      for (;;) {
        p = NextCandidate(p, end);
        if (p == end) break;
        if (*p < 0x80) {
          if (IsAsciiSpace(*p)) break;
          ++p;  // a control character
        } else {
          if (UnicodeSpaceLength(p) > 0) break;
          p += SequenceLength(*p);
        }
      }
      if (p == end) return Done(Append(start, p));  // the word may go on in the next block
      in_word_ = false;
      if (cur_.empty() && static_cast<size_t>(p - start) <= cap_) {
        // The common case: the whole word is in this block; no copy into cur_.
        if (!window_.Add(std::string_view(reinterpret_cast<const char*>(start), p - start))) return Done(false);
      } else if (!Append(start, p) || !Flush()) {
        return Done(false);
      }
    }
    return Status::Ok();
  }

  Status Finish() override { return Done((!in_word_ || Flush()) && window_.Finish()); }

 private:
  bool in_word_ = false;
};

// Sentences and paragraphs: one state machine, sentences adding the
// terminator states.
class TextSegmenter : public UnitBuilder {
 public:
  TextSegmenter(const ChunkOptions& o, Sink& sink, bool sentences)
      : UnitBuilder(o, sentences ? " " : "\n\n", sink), sentences_(sentences) {
    special_['\n'] = true;
    if (sentences_) special_['.'] = special_['!'] = special_['?'] = true;
  }

  Status Feed(std::string_view block) override {
    const auto* p = reinterpret_cast<const unsigned char*>(block.data());
    const auto* end = p + block.size();
    while (p < end) {
      switch (state_) {
        case State::kGap: {  // between units: skip whitespace
          size_t n = SpaceLength(p);
          if (n > 0) {
            p += n;
          } else {
            state_ = State::kBody;
          }
          break;
        }
        case State::kBody: {  // inside a unit: copy up to the next newline or terminator
          const unsigned char* q = p;
          while (q < end && !special_[*q]) ++q;
          if (q == end) return Done(Append(p, q));
          if (!Append(p, q + 1)) return Done(false);
          p = q + 1;
          if (*q == '\n') {
            state_ = State::kSpace;
            newlines_ = 1;
          } else {
            state_ = State::kTerm;
            term_at_ = cur_.size() - 1;
            closed_ = false;
          }
          break;
        }
        case State::kSpace: {  // whitespace after a newline: a second newline ends the unit
          size_t n = SpaceLength(p);
          if (n == 0) {
            state_ = State::kBody;
          } else if (*p == '\n' && ++newlines_ >= 2) {
            ++p;
            if (!Flush()) return Done(false);
            state_ = State::kGap;
          } else {
            if (!Append(p, p + n)) return Done(false);
            p += n;
          }
          break;
        }
        case State::kTerm: {  // after . ! ? (and closers): whitespace ends the sentence
          if (*p == '.' || *p == '!' || *p == '?') {
            if (closed_) {  // a new run after a closer: `"Hi." .`
              term_at_ = cur_.size();
              closed_ = false;
            }
            if (!Append(p, p + 1)) return Done(false);
            ++p;
          } else if (size_t c = CloserLength(p); c > 0) {
            if (!Append(p, p + c)) return Done(false);
            p += c;
            closed_ = true;
          } else if (SpaceLength(p) > 0) {
            if (AfterAbbreviation()) {
              state_ = State::kBody;  // the sentence goes on; kBody takes the whitespace
            } else {
              if (!Flush()) return Done(false);
              state_ = State::kGap;
            }
          } else {
            state_ = State::kBody;  // "3.14", "e.g.,", "Yahoo!s": not an end
          }
          break;
        }
      }
    }
    return Status::Ok();
  }

  Status Finish() override { return Done((state_ == State::kGap || Flush()) && window_.Finish()); }

 private:
  enum class State { kGap, kBody, kSpace, kTerm };

  void OnFlush() override { term_at_ = std::string::npos; }  // a cut unit lost its terminator

  // Closing quotes and brackets that may follow a terminator: " ' ) ] } ” ’ ».
  static size_t CloserLength(const unsigned char* p) {
    switch (p[0]) {
      case '"': case '\'': case ')': case ']': case '}':
        return 1;
      case 0xE2:
        return (p[1] == 0x80 && (p[2] == 0x9D || p[2] == 0x99)) ? 3 : 0;
      case 0xC2:
        return p[1] == 0xBB ? 2 : 0;
      default:
        return 0;
    }
  }

  // Whether the terminator run is a lone '.' ending a known abbreviation, an
  // initial or a dotted abbreviation, in which case it does not end the sentence.
  bool AfterAbbreviation() const {
    if (closed_ || term_at_ == std::string::npos || term_at_ + 1 != cur_.size() || cur_[term_at_] != '.') {
      return false;
    }
    // The token before the period: back to the previous whitespace, then
    // without opening quotes and brackets.
    constexpr size_t kMaxToken = 12;
    std::string_view before(cur_.data(), term_at_);
    size_t b = before.size();
    while (b > 0 && !IsAsciiSpace(static_cast<unsigned char>(before[b - 1]))) {
      if (before.size() - b >= kMaxToken) return false;
      --b;
    }
    std::string_view token = before.substr(b);
    for (;;) {
      if (!token.empty() && std::string_view("([{\"'").find(token[0]) != std::string_view::npos) {
        token.remove_prefix(1);
      } else if (token.starts_with("\xE2\x80\x9C") || token.starts_with("\xE2\x80\x98")) {  // “ ‘
        token.remove_prefix(3);
      } else if (token.starts_with("\xC2\xAB")) {  // «
        token.remove_prefix(2);
      } else {
        break;
      }
    }
    if (token.empty()) return false;
    char lower[kMaxToken];
    for (size_t i = 0; i < token.size(); ++i) {
      char c = token[i];
      lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    std::string_view t(lower, token.size());
    static constexpr std::string_view kAbbreviations[] = {"mr", "mrs", "ms", "dr", "prof", "sr",
                                                          "jr", "st",  "vs", "etc", "cf"};
    for (std::string_view a : kAbbreviations) {
      if (t == a) return true;
    }
    // Letters separated by periods: "j", "u.s", "e.g", "i.e", "a.m".
    for (size_t i = 0; i < t.size(); ++i) {
      bool letter = t[i] >= 'a' && t[i] <= 'z';
      if (i % 2 == 0 ? !letter : t[i] != '.') return false;
    }
    return t.size() % 2 == 1;
  }

  const bool sentences_;
  ByteTable special_{};  // bytes that end a kBody run
  State state_ = State::kGap;
  int newlines_ = 0;                    // kSpace: newlines in the whitespace run
  size_t term_at_ = std::string::npos;  // kTerm: where the terminator run starts in cur_
  bool closed_ = false;                 // kTerm: a closer followed the run
};

// ---------------------------------------------------------------------------
// none: the whole text, up to max_none_bytes.

class WholeText : public Segmenter {
 public:
  WholeText(const ChunkOptions& o, Sink& sink) : max_(o.max_none_bytes), sink_(sink) {}

  Status Feed(std::string_view block) override {
    bytes_ += static_cast<int64_t>(block.size());
    if (bytes_ > max_) {
      return Status::Invalid(kTextLocation,
                             "the text is larger than " + std::to_string(max_) +
                                 " bytes, the most split_by 'none' keeps as one chunk; choose split_by "
                                 "'paragraphs', 'sentences', 'words' or 'characters'",
                             "too_large");
    }
    if (sink_.keeps_text()) text_.append(block);
    if (!content_) content_ = !TrimSpace(block).empty();
    return Status::Ok();
  }

  Status Finish() override {
    if (!content_) return Status::Ok();
    if (!sink_.keeps_text()) {
      sink_.CountOne();
      return Status::Ok();
    }
    return sink_.Emit(TrimSpace(text_));
  }

 private:
  const int64_t max_;
  Sink& sink_;
  int64_t bytes_ = 0;
  std::string text_;
  bool content_ = false;
};

// ---------------------------------------------------------------------------

Status CheckOptions(const ChunkOptions& o) {
  if (o.read_block_bytes < 1) return Status::Internal("chunker: read_block_bytes must be positive");
  if (o.split_by == SplitBy::kNone) {
    if (o.max_none_bytes < 0) return Status::Internal("chunker: max_none_bytes must not be negative");
    return Status::Ok();
  }
  if (o.chunk_size < 1) {
    return Status::Invalid("parameters.chunk_size", "must be at least 1, got " + std::to_string(o.chunk_size));
  }
  if (o.chunk_overlap < 0 || o.chunk_overlap >= o.chunk_size) {
    return Status::Invalid("parameters.chunk_overlap", "must be at least 0 and less than chunk_size (" +
                                                           std::to_string(o.chunk_size) + "), got " +
                                                           std::to_string(o.chunk_overlap));
  }
  // Room for any code point, so cutting a long unit always makes progress.
  if (o.max_chunk_bytes < 4) return Status::Internal("chunker: max_chunk_bytes must be at least 4");
  return Status::Ok();
}

// The one pass behind ChunkText and CountChunks (emit == nullptr).
Result<int64_t> Run(std::istream& in, const ChunkOptions& opts, const ChunkEmitFn* emit) {
  RETURN_IF_ERROR(CheckOptions(opts));
  Sink sink(emit);
  std::unique_ptr<Segmenter> seg;
  switch (opts.split_by) {
    case SplitBy::kCharacters:
      seg = std::make_unique<CharacterChunker>(opts, sink);
      break;
    case SplitBy::kWords:
      seg = std::make_unique<WordSegmenter>(opts, sink);
      break;
    case SplitBy::kSentences:
      seg = std::make_unique<TextSegmenter>(opts, sink, /*sentences=*/true);
      break;
    case SplitBy::kParagraphs:
      seg = std::make_unique<TextSegmenter>(opts, sink, /*sentences=*/false);
      break;
    case SplitBy::kNone:
      seg = std::make_unique<WholeText>(opts, sink);
      break;
  }
  if (seg == nullptr) return Status::Internal("chunker: unknown split_by");
  BlockReader reader(in, static_cast<size_t>(opts.read_block_bytes));
  for (;;) {
    ASSIGN_OR_RETURN(std::string_view block, reader.Next());
    if (block.empty()) break;
    RETURN_IF_ERROR(seg->Feed(block));
  }
  RETURN_IF_ERROR(seg->Finish());
  return sink.count();
}

// An istream source over memory without copying it.
class ViewBuf : public std::streambuf {
 public:
  explicit ViewBuf(std::string_view s) {
    char* b = const_cast<char*>(s.data());  // only ever read
    setg(b, b, b + s.size());
  }
};

}  // namespace

Result<SplitBy> ParseSplitBy(std::string_view name) {
  for (SplitBy s : {SplitBy::kCharacters, SplitBy::kWords, SplitBy::kSentences, SplitBy::kParagraphs,
                    SplitBy::kNone}) {
    if (name == SplitByName(s)) return s;
  }
  return Status::Invalid("parameters.split_by", "must be one of characters, words, sentences, paragraphs, none; got '" +
                                                    std::string(name) + "'");
}

std::string_view SplitByName(SplitBy split_by) {
  switch (split_by) {
    case SplitBy::kCharacters: return "characters";
    case SplitBy::kWords: return "words";
    case SplitBy::kSentences: return "sentences";
    case SplitBy::kParagraphs: return "paragraphs";
    case SplitBy::kNone: return "none";
  }
  return "none";
}

Status ChunkText(std::istream& in, const ChunkOptions& opts, const ChunkEmitFn& emit) {
  auto r = Run(in, opts, &emit);
  return r.status();
}

Result<int64_t> CountChunks(std::istream& in, const ChunkOptions& opts) { return Run(in, opts, nullptr); }

Result<std::vector<std::string>> ChunkString(std::string_view text, const ChunkOptions& opts) {
  ViewBuf buf(text);
  std::istream in(&buf);
  std::vector<std::string> chunks;
  RETURN_IF_ERROR(ChunkText(in, opts, [&](int64_t, std::string_view chunk) {
    chunks.emplace_back(chunk);
    return Status::Ok();
  }));
  return chunks;
}

}  // namespace strata::extract
