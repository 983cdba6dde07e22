#include "core/ids.h"

#include "core/crypto.h"

namespace strata {

std::string NewId(std::string_view prefix, size_t random_chars) {
  std::string id(prefix);
  id += RandomAlnum(random_chars);
  return id;
}

bool HasIdPrefix(std::string_view s, std::string_view prefix) {
  return s.size() > prefix.size() && s.substr(0, prefix.size()) == prefix;
}

}  // namespace strata
