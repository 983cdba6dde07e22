#include "core/json_util.h"

namespace strata {

Result<Json> ParseJson(std::string_view text, int max_depth) {
  bool too_deep = false;
  // The callback sees the depth of every value as it is parsed; discarding the
  // rest of the document on the first too-deep value keeps memory bounded.
  auto cb = [&](int depth, Json::parse_event_t event, Json&) {
    if (depth > max_depth) {
      too_deep = true;
      return false;
    }
    (void)event;
    return true;
  };
  Json out;
  try {
    out = Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true);
  } catch (const Json::parse_error& e) {
    if (too_deep) {
      return Status::BadRequest("JSON nesting deeper than " + std::to_string(max_depth) +
                                " levels");
    }
    return Status::BadRequest(std::string("malformed JSON at byte ") + std::to_string(e.byte) +
                              ": " + e.what());
  }
  if (too_deep) {
    return Status::BadRequest("JSON nesting deeper than " + std::to_string(max_depth) + " levels");
  }
  return out;
}

std::vector<std::string> SplitPath(std::string_view dotted) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    parts.emplace_back(dotted.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

const Json* FindPath(const Json& root, std::string_view dotted) {
  const Json* cur = &root;
  for (const auto& part : SplitPath(dotted)) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

void SetPath(Json& root, std::string_view dotted, Json value) {
  Json* cur = &root;
  auto parts = SplitPath(dotted);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!cur->is_object()) *cur = Json::object();
    cur = &(*cur)[parts[i]];
  }
  if (!cur->is_object()) *cur = Json::object();
  (*cur)[parts.back()] = std::move(value);
}

Json SelectPaths(const Json& doc, const std::vector<std::string>& paths,
                 const std::vector<std::string>& always_keep) {
  Json out = Json::object();
  for (const auto& key : always_keep) {
    if (doc.contains(key)) out[key] = doc[key];
  }
  for (const auto& path : paths) {
    if (const Json* v = FindPath(doc, path)) SetPath(out, path, *v);
  }
  return out;
}

void MergePatch(Json& target, const Json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = Json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().is_null()) {
      target.erase(it.key());
    } else {
      MergePatch(target[it.key()], it.value());
    }
  }
}

std::string StringOr(const Json& obj, const char* key, const std::string& fallback) {
  return obj.is_object() && obj.contains(key) && obj[key].is_string() ? obj[key].get<std::string>() : fallback;
}

std::string JsonTypeName(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "number";
    case Json::value_t::string: return "string";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "object";
    default: return "unknown";
  }
}

}  // namespace strata
