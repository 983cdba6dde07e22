// Resource identifiers: the API's prefix plus random base62 characters, e.g.
// "obj_3fK9x2LqW8mZ1pTb". Unguessable, so a leaked id reveals nothing else.
#pragma once

#include <string>
#include <string_view>

namespace strata {

std::string NewId(std::string_view prefix, size_t random_chars = 16);
// True when `s` looks like an id of this prefix (so a path segment can be told
// from a name: "bkt_..." is looked up by id, anything else by name).
bool HasIdPrefix(std::string_view s, std::string_view prefix);

}  // namespace strata
