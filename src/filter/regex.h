// Compiled POSIX extended regexes for the `regex` filter operator, shared by
// the in-memory evaluator and the SQLite function strata_regexp so that both
// accept and match exactly the same way. POSIX regexec rather than std::regex:
// the latter recurses per input character and overflows the stack on long
// strings.
#pragma once

#include <regex.h>

#include <memory>
#include <string>

#include "core/status.h"

namespace strata::filter {

class Regex {
 public:
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  ~Regex();

  // `text` must be NUL-terminated (regexec stops at the first NUL). Safe to
  // call from several threads at once: glibc's regexec locks the pattern.
  bool Matches(const char* text) const;
  bool Matches(const std::string& text) const { return Matches(text.c_str()); }

 private:
  friend Result<std::shared_ptr<const Regex>> CompileRegex(const std::string&, bool);
  Regex() = default;
  regex_t re_{};
  bool compiled_ = false;  // regfree after a failed regcomp is undefined
};

// Returns the compiled pattern from a process-wide cache, compiling it on a
// miss. Case-insensitive means REG_ICASE, which folds ASCII only in the C
// locale Strata runs in. Besides syntax errors, rejects (as Status::Invalid
// with an empty location, for the caller to place) patterns longer than
// kMaxRegexLength, back-references (not POSIX ERE, and exponential to match)
// and repetition counts above 255 or whose nesting would expand the automaton
// beyond ~10,000 copies of an atom (glibc builds those eagerly: seconds of CPU
// and gigabytes for `(((a{1,255}){1,255}){1,255})`).
Result<std::shared_ptr<const Regex>> CompileRegex(const std::string& pattern,
                                                  bool case_sensitive);

}  // namespace strata::filter
