#include "filter/regex.h"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "filter/filter.h"

namespace strata::filter {

namespace {

constexpr uint64_t kMaxExpansion = 10000;
constexpr uint64_t kMaxRepeat = 255;  // POSIX's RE_DUP_MAX minimum
constexpr size_t kCacheCapacity = 512;

// Index just past the bracket expression starting at p[i] == '['.
size_t SkipBracket(const std::string& p, size_t i) {
  size_t j = i + 1;
  if (j < p.size() && p[j] == '^') ++j;
  if (j < p.size() && p[j] == ']') ++j;  // a leading ']' is a literal
  while (j < p.size()) {
    if (p[j] == '[' && j + 1 < p.size() &&
        (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
      char kind = p[j + 1];
      size_t close = j + 2;
      while (close + 1 < p.size() && !(p[close] == kind && p[close + 1] == ']')) ++close;
      j = close + 2;
      continue;
    }
    if (p[j] == ']') return j + 1;
    ++j;
  }
  return p.size();  // unterminated: regcomp reports it
}

// Rejects what regcomp would accept but what costs too much: back-references
// and repetition nesting that glibc expands eagerly. Returns "" when fine.
// The estimate is the number of atom copies after expanding every {m,n}.
std::string CheckComplexity(const std::string& p) {
  struct Frame {
    uint64_t total = 0;  // expanded size of the group so far
    uint64_t last = 0;   // expanded size of the atom a quantifier would repeat
  };
  std::vector<Frame> stack(1);
  auto cap = [](uint64_t v) { return std::min(v, kMaxExpansion + 1); };
  auto add_atom = [&](uint64_t w) {
    stack.back().total = cap(stack.back().total + w);
    stack.back().last = w;
  };
  auto repeat = [&](uint64_t factor) {
    Frame& f = stack.back();
    factor = std::max<uint64_t>(factor, 1);
    f.total = cap(f.total + f.last * (factor - 1));
    f.last = cap(f.last * factor);
  };
  size_t i = 0;
  while (i < p.size()) {
    char c = p[i];
    if (c == '\\') {
      if (i + 1 < p.size() && p[i + 1] >= '1' && p[i + 1] <= '9') {
        return "back-references (\\1 to \\9) are not supported";
      }
      add_atom(1);
      i += 2;
    } else if (c == '[') {
      i = SkipBracket(p, i);
      add_atom(1);
    } else if (c == '(') {
      stack.emplace_back();
      ++i;
    } else if (c == ')') {
      if (stack.size() > 1) {
        uint64_t w = std::max<uint64_t>(stack.back().total, 1);
        stack.pop_back();
        add_atom(w);
      } else {
        add_atom(1);
      }
      ++i;
    } else if (c == '+') {
      repeat(2);  // glibc builds x+ as xx*
      ++i;
    } else if (c == '{') {
      size_t j = i + 1;
      auto number = [&](uint64_t* out) {
        size_t start = j;
        uint64_t v = 0;
        while (j < p.size() && p[j] >= '0' && p[j] <= '9') {
          v = std::min<uint64_t>(v * 10 + static_cast<uint64_t>(p[j] - '0'), 1u << 20);
          ++j;
        }
        *out = v;
        return j > start;
      };
      uint64_t lo = 0, hi = 0;
      bool has_lo = number(&lo), has_hi = false, comma = false;
      if (j < p.size() && p[j] == ',') {
        comma = true;
        ++j;
        has_hi = number(&hi);
      }
      if (j < p.size() && p[j] == '}' && (has_lo || has_hi)) {
        if (lo > kMaxRepeat || hi > kMaxRepeat) {
          return "repetition counts above " + std::to_string(kMaxRepeat) + " are not supported";
        }
        repeat(has_hi ? std::max(lo, hi) : (comma ? lo + 1 : lo));
        i = j + 1;
      } else {
        add_atom(1);  // not a bound; regcomp decides whether '{' is legal here
        ++i;
      }
    } else if (c == '|') {
      stack.back().last = 0;
      ++i;
    } else if (c == '*' || c == '?') {
      ++i;  // a loop or an option: no copies
    } else {
      add_atom(1);
      ++i;
    }
    if (stack.back().total > kMaxExpansion) {
      return "pattern is too complex: its repetitions expand to more than " +
             std::to_string(kMaxExpansion) + " atoms";
    }
  }
  return "";
}

struct Cache {
  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<const Regex>> entries;
};

Cache& GetCache() {
  static Cache* cache = new Cache();  // never destroyed: usable during exit
  return *cache;
}

}  // namespace

Regex::~Regex() {
  if (compiled_) regfree(&re_);
}

bool Regex::Matches(const char* text) const {
  return regexec(&re_, text, 0, nullptr, 0) == 0;
}

Result<std::shared_ptr<const Regex>> CompileRegex(const std::string& pattern,
                                                  bool case_sensitive) {
  std::string key = (case_sensitive ? "1" : "0") + pattern;
  Cache& cache = GetCache();
  {
    std::lock_guard<std::mutex> lock(cache.mu);
    auto it = cache.entries.find(key);
    if (it != cache.entries.end()) return it->second;
  }
  if (pattern.size() > kMaxRegexLength) {
    return Status::Invalid("", "regex pattern is " + std::to_string(pattern.size()) +
                                   " characters long; at most " +
                                   std::to_string(kMaxRegexLength) + " are allowed");
  }
  if (pattern.find('\0') != std::string::npos) {
    return Status::Invalid("", "regex pattern must not contain NUL characters");
  }
  if (std::string why = CheckComplexity(pattern); !why.empty()) {
    return Status::Invalid("", "regex '" + pattern + "': " + why);
  }
  // Compiled outside the lock: a slow pattern must not stall other threads.
  // Two threads racing on one pattern both compile it; the first one stored wins.
  std::shared_ptr<Regex> re(new Regex());
  int flags = REG_EXTENDED | REG_NOSUB | (case_sensitive ? 0 : REG_ICASE);
  if (int rc = regcomp(&re->re_, pattern.c_str(), flags); rc != 0) {
    char buf[256];
    regerror(rc, &re->re_, buf, sizeof(buf));
    return Status::Invalid("", "regex '" + pattern + "' does not compile: " + buf);
  }
  re->compiled_ = true;
  std::lock_guard<std::mutex> lock(cache.mu);
  // Patterns come from requests, so the cache is bounded; dropping everything
  // when full is crude but keeps the hot set warm again after one miss each.
  if (cache.entries.size() >= kCacheCapacity) cache.entries.clear();
  auto [it, inserted] = cache.entries.emplace(std::move(key), std::move(re));
  return it->second;
}

}  // namespace strata::filter
