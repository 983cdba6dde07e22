// JSON helpers: parsing untrusted bodies with a depth limit, and dotted-path
// access used by the filter language, sorting and `select`.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace strata {

using Json = nlohmann::json;

// Parses untrusted text. Malformed JSON is a BadRequest naming the byte offset;
// nesting deeper than `max_depth` is a BadRequest too (checked while parsing, so
// a hostile body never builds a deep tree).
Result<Json> ParseJson(std::string_view text, int max_depth = 64);

// Splits "a.b.c" into {"a","b","c"}.
std::vector<std::string> SplitPath(std::string_view dotted);
// Walks a dotted path through objects; nullptr when any step is missing.
const Json* FindPath(const Json& root, std::string_view dotted);
// Sets a value at a dotted path, creating objects on the way.
void SetPath(Json& root, std::string_view dotted, Json value);

// Keeps only the given dotted paths of `doc` (plus `always_keep` top-level keys).
Json SelectPaths(const Json& doc, const std::vector<std::string>& paths,
                 const std::vector<std::string>& always_keep);

// RFC 7386 merge patch: null deletes, objects merge recursively, others replace.
void MergePatch(Json& target, const Json& patch);

// Human name of a JSON value's type for error messages ("string", "integer", …).
std::string JsonTypeName(const Json& v);

// obj[key] when obj is an object holding a string there; `fallback` otherwise
// (missing, null or another type: never throws, unlike Json::value).
std::string StringOr(const Json& obj, const char* key, const std::string& fallback = "");

}  // namespace strata
