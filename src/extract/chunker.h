// The streaming text chunker of text_extractor@v1: splits UTF-8 text into
// chunks of `chunk_size` units (characters, words, sentences or paragraphs)
// with `chunk_overlap` units shared by consecutive chunks, or keeps it whole.
//
// The text is read from a std::istream in fixed blocks and never held whole:
// memory is a read buffer plus the units of the current chunk (at most
// max_chunk_bytes, see below), so a 1 GB blob chunks in a few MB.
//
// Units:
//  - characters: Unicode code points (whitespace included). A chunk is the
//    original text of its code points; a boundary never splits a code point.
//  - words: maximal runs of non-whitespace code points. A chunk is its words
//    joined by single spaces.
//  - sentences: from the first non-whitespace code point to a run of `.`, `!`
//    or `?` (plus closing quotes and brackets) followed by whitespace or the
//    end of the text. A period does not end a sentence after a common
//    abbreviation (Mr, Mrs, Ms, Dr, Prof, Sr, Jr, St, vs, etc, cf) or after
//    initials and dotted abbreviations ("J.", "U.S.", "e.g.", "i.e."); a period
//    inside a number ("3.14") is never followed by whitespace, so it never
//    ends one. A blank line also ends a sentence (headings, list items). A
//    sentence keeps its internal whitespace; sentences are joined by a single
//    space.
//  - paragraphs: spans separated by one or more blank lines (a whitespace run
//    holding two or more '\n'; "\r\n" endings work, lone '\r' does not). A
//    paragraph keeps its internal line breaks and indentation; paragraphs
//    are joined by "\n\n".
//  - none: the whole text as one chunk, an error beyond max_none_bytes.
// Whitespace is ASCII whitespace plus the Unicode White_Space code points
// (NBSP, U+2000..U+200A, U+3000, ...). Every chunk is trimmed of leading and
// trailing whitespace; an empty or whitespace-only chunk (possible only with
// characters) is skipped and takes no index. A leading byte order mark is
// ignored. Empty input gives zero chunks.
//
// Windows: chunk k covers units [k*step, k*step + chunk_size) with
// step = chunk_size - chunk_overlap; chunks stop once one reaches the last
// unit, so the last may be shorter and none is a mere tail of its previous.
//
// Size cap (words, sentences, paragraphs): no chunk text exceeds
// max_chunk_bytes. A unit longer than that (a 50 MB "word", a text without
// any sentence end) is cut into pieces of at most max_chunk_bytes at code
// point boundaries, each piece a unit; a chunk whose next unit would not fit
// ends early (holding fewer units), and the next chunk starts with as many of
// its last `chunk_overlap` units as fit. Characters chunks are at most
// 4 * chunk_size bytes by construction.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace strata::extract {

enum class SplitBy { kCharacters, kWords, kSentences, kParagraphs, kNone };

// "characters" | "words" | "sentences" | "paragraphs" | "none".
Result<SplitBy> ParseSplitBy(std::string_view name);
std::string_view SplitByName(SplitBy split_by);

struct ChunkOptions {
  SplitBy split_by = SplitBy::kNone;
  int64_t chunk_size = 1000;    // units per chunk, >= 1 (ignored by none)
  int64_t chunk_overlap = 0;    // units shared by consecutive chunks, < chunk_size (ignored by none)
  int64_t max_none_bytes = 8ll << 20;  // split_by none: the largest text kept as one chunk
  int64_t max_chunk_bytes = 8ll << 20;  // words/sentences/paragraphs: the largest chunk (>= 4)
  int64_t read_block_bytes = 64 << 10;  // bytes per read from the stream (tests use tiny blocks)
};

// Receives chunk `chunk_index` (0, 1, 2, ...). `text` is valid only during the
// call. A non-ok status stops chunking and is returned by ChunkText.
using ChunkEmitFn = std::function<Status(int64_t chunk_index, std::string_view text)>;

// Chunks the rest of `in`. Errors (kValidation, location "inputs.text"):
// "invalid UTF-8 at byte offset N" (N counted from where `in` was when called;
// overlong forms, surrogates, code points above U+10FFFF and a sequence cut by
// the end are all invalid) and a none text over max_none_bytes; bad options
// name "parameters.chunk_size" / "parameters.chunk_overlap". Validation runs
// block by block as the text streams, so `emit` may already have received
// earlier chunks when an error is found: the caller must then treat the whole
// item as failed (text_extractor runs CountChunks first, which finds every
// such error before anything is emitted).
Status ChunkText(std::istream& in, const ChunkOptions& opts, const ChunkEmitFn& emit);

// The number of chunks ChunkText would emit for the same bytes, with the same
// errors: the same pass without an emitter (and, but for characters, without
// assembling chunk texts).
Result<int64_t> CountChunks(std::istream& in, const ChunkOptions& opts);

// ChunkText over an in-memory text, collecting the chunks (small inputs, tests).
Result<std::vector<std::string>> ChunkString(std::string_view text, const ChunkOptions& opts);

}  // namespace strata::extract
