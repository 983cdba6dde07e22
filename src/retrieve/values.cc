#include "retrieve/values.h"

namespace strata::retrieve {

namespace {

int Rank(const Json& v) {
  if (v.is_null()) return 0;
  if (v.is_boolean()) return 1;
  if (v.is_number()) return 2;
  if (v.is_string()) return 3;
  if (v.is_array()) return 4;
  return 5;
}

}  // namespace

int CompareValues(const Json& a, const Json& b) {
  const int ra = Rank(a), rb = Rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return static_cast<int>(a.get<bool>()) - static_cast<int>(b.get<bool>());
    case 2: {
      const double x = a.get<double>(), y = b.get<double>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    case 3:
      return a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    default:
      return a.dump().compare(b.dump());
  }
}

const Json* DocField(const Json& doc, const std::string& path) {
  if (const Json* v = FindPath(doc, path)) return v;
  return FindPath(doc, "_internal.lineage." + path);
}

std::string GroupKey(const Json* value) {
  if (value == nullptr || value->is_null()) return "";
  return value->is_string() ? "s:" + value->get<std::string>() : "j:" + value->dump();
}

}  // namespace strata::retrieve
