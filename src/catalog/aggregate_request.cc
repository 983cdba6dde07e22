#include "catalog/aggregate_request.h"

#include <algorithm>

namespace strata::catalog {

AggregateRequest& AggregateRequest::operator=(AggregateRequest&& o) noexcept {
  spec = std::move(o.spec);
  filter = std::move(o.filter);
  group_alias = std::move(o.group_alias);
  having = std::move(o.having);
  sort_by = std::move(o.sort_by);
  sort_desc = o.sort_desc;
  limit = o.limit;
  spec.filter = filter ? &*filter : nullptr;
  return *this;
}

namespace {

const std::vector<std::string> kFunctions = {"count", "count_distinct", "sum", "avg", "min", "max"};
const std::vector<std::string> kUnsupportedFunctions = {"first", "last", "push", "add_to_set"};
const std::vector<std::string> kHavingOps = {"gt", "gte", "lt", "lte", "eq", "ne"};
// The most groups read from the store when having or sort_by post-process them.
constexpr int64_t kMaxGroups = 10000;

bool In(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// Orders null < numbers < strings < everything else; -1, 0 or 1.
int Compare(const Json& a, const Json& b) {
  auto rank = [](const Json& v) { return v.is_null() ? 0 : v.is_number() ? 1 : v.is_string() ? 2 : 3; };
  int ra = rank(a), rb = rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra == 1) {
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (ra == 2) {
    int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (ra == 3) {
    std::string x = a.dump(), y = b.dump();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return 0;
}

// A row's metric or group value by alias (null when neither has it).
const Json& ValueOf(const Json& row, const std::string& name) {
  static const Json kNull;
  const Json& m = row.at("metrics");
  if (m.contains(name)) return m.at(name);
  const Json& g = row.at("group");
  return g.contains(name) ? g.at(name) : kNull;
}

bool HavingMatches(const AggregateRequest::Having& h, const Json& v) {
  bool comparable = (v.is_number() && h.value.is_number()) || (v.is_string() && h.value.is_string());
  if (!comparable) return h.op == "ne";
  int c = Compare(v, h.value);
  if (h.op == "gt") return c > 0;
  if (h.op == "gte") return c >= 0;
  if (h.op == "lt") return c < 0;
  if (h.op == "lte") return c <= 0;
  if (h.op == "eq") return c == 0;
  return c != 0;  // ne
}

}  // namespace

Result<AggregateRequest> ParseAggregateRequest(const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(body, {"group_by", "aggregations", "filters", "having", "unwind", "range_buckets", "sort_by",
                                "sort_direction", "limit"},
                         "body");
  AggregateRequest out;
  auto& spec = out.spec;
  const Json& gb = body.value("group_by", Json());
  if (!gb.is_array()) {
    errs.Add("body.group_by", "field required: a list of {field, alias}", "missing");
  } else {
    for (size_t i = 0; i < gb.size(); ++i) {
      const Json& g = gb[i];
      const std::string loc = "body.group_by[" + std::to_string(i) + "]";
      if (g.is_object()) {
        errs.RejectUnknownKeys(g, {"field", "alias", "date_trunc", "date_part"}, loc);
        for (const char* k : {"date_trunc", "date_part"}) {
          if (g.contains(k) && !g[k].is_null()) {
            errs.Add(loc + "." + k, std::string(k) + " is not supported by this server; group by the stored value",
                     "unsupported");
          }
        }
      }
      std::string field = g.is_string() ? g.get<std::string>() : StringOr(g, "field");
      if (field.empty()) {
        errs.Add(loc + ".field", "field required", "missing");
        continue;
      }
      spec.group_by.push_back(field);
      std::string alias = StringOr(g, "alias");
      out.group_alias.push_back(alias.empty() ? field : alias);
    }
  }
  const Json& aggs = body.value("aggregations", Json());
  if (!aggs.is_array() || aggs.empty()) {
    errs.Add("body.aggregations", "field required: a list of {function, field, alias}", "missing");
  } else {
    for (size_t i = 0; i < aggs.size(); ++i) {
      const Json& a = aggs[i];
      const std::string loc = "body.aggregations[" + std::to_string(i) + "]";
      if (!a.is_object()) {
        errs.Add(loc, "expected {function, field, alias}", "type_error");
        continue;
      }
      errs.RejectUnknownKeys(a, {"function", "field", "alias", "distinct_field"}, loc);
      std::string fn = StringOr(a, "function");
      std::string field = StringOr(a, "field");
      if (!StringOr(a, "distinct_field").empty()) field = StringOr(a, "distinct_field");
      std::string alias = StringOr(a, "alias");
      if (alias.empty()) alias = fn;
      if (In(kUnsupportedFunctions, fn)) {
        errs.Add(loc + ".function", "'" + fn + "' is not supported by this server; supported: count, count_distinct, sum, avg, min, max",
                 "unsupported");
      } else if (!In(kFunctions, fn)) {
        errs.Add(loc + ".function", "supported: count, count_distinct, sum, avg, min, max", "enum");
      } else if (fn != "count" && field.empty()) {
        errs.Add(loc + ".field", fn + " needs a field", "missing");
      }
      spec.ops.push_back({fn, field, alias});
    }
  }
  if (body.contains("unwind") && !body["unwind"].is_null()) {
    errs.Add("body.unwind", "unwind is not supported by this server", "unsupported");
  }
  if (body.contains("range_buckets") && !body["range_buckets"].is_null() &&
      !(body["range_buckets"].is_array() && body["range_buckets"].empty())) {
    errs.Add("body.range_buckets", "range_buckets is not supported by this server", "unsupported");
  }
  auto known_alias = [&](const std::string& name) {
    if (In(out.group_alias, name)) return true;
    return std::any_of(spec.ops.begin(), spec.ops.end(), [&](const auto& op) { return op.alias == name; });
  };
  if (body.contains("having") && !body["having"].is_null()) {
    const Json& hv = body["having"];
    if (!hv.is_array()) {
      errs.Add("body.having", "must be a list of {field, operator, value}", "type_error");
    } else {
      for (size_t i = 0; i < hv.size(); ++i) {
        const Json& h = hv[i];
        const std::string loc = "body.having[" + std::to_string(i) + "]";
        if (!h.is_object()) {
          errs.Add(loc, "expected {field, operator, value}", "type_error");
          continue;
        }
        errs.RejectUnknownKeys(h, {"field", "operator", "value"}, loc);
        AggregateRequest::Having cond{StringOr(h, "field"), StringOr(h, "operator"), h.value("value", Json())};
        if (!known_alias(cond.field)) errs.Add(loc + ".field", "must name an aggregation or group_by alias", "value_error");
        if (!In(kHavingOps, cond.op)) errs.Add(loc + ".operator", "must be one of gt, gte, lt, lte, eq, ne", "enum");
        if (!cond.value.is_number() && !cond.value.is_string()) errs.Add(loc + ".value", "must be a number or a string", "type_error");
        out.having.push_back(std::move(cond));
      }
    }
  }
  if (body.contains("sort_by") && !body["sort_by"].is_null()) {
    if (!body["sort_by"].is_string()) {
      errs.Add("body.sort_by", "must be a string", "type_error");
    } else {
      out.sort_by = body["sort_by"].get<std::string>();
      // A group_by field may be named by its path as well as its alias.
      for (size_t i = 0; i < spec.group_by.size(); ++i) {
        if (spec.group_by[i] == out.sort_by) out.sort_by = out.group_alias[i];
      }
      if (!known_alias(out.sort_by)) errs.Add("body.sort_by", "must name an aggregation or group_by alias", "value_error");
    }
  }
  if (body.contains("sort_direction") && !body["sort_direction"].is_null()) {
    std::string dir = body["sort_direction"].is_string() ? body["sort_direction"].get<std::string>() : "";
    if (dir != "asc" && dir != "desc") errs.Add("body.sort_direction", "must be 'asc' or 'desc'", "enum");
    out.sort_desc = dir != "asc";
  }
  if (body.contains("limit") && !body["limit"].is_null()) {
    if (!body["limit"].is_number_integer() || body["limit"].get<int64_t>() < 1) {
      errs.Add("body.limit", "must be a positive integer", "type_error");
    } else {
      out.limit = std::min<int64_t>(body["limit"].get<int64_t>(), kMaxGroups);
    }
  }
  if (body.contains("filters") && !body["filters"].is_null()) {
    auto parsed = filter::Parse(body["filters"], "body.filters");
    if (!parsed.ok()) return parsed.status();
    out.filter = std::move(parsed).value();
    spec.filter = &*out.filter;
  }
  RETURN_IF_ERROR(errs.ToStatus());
  spec.limit = (out.having.empty() && out.sort_by.empty()) ? out.limit : kMaxGroups;
  return out;
}

Json AggregateResponse(const AggregateRequest& req, const std::vector<storage::AggregateRow>& rows,
                       const Json& query_info) {
  std::vector<Json> results;
  for (const auto& row : rows) {
    Json group = Json::object();
    for (size_t i = 0; i < req.spec.group_by.size(); ++i) group[req.group_alias[i]] = row.group[req.spec.group_by[i]];
    Json r = {{"group", std::move(group)}, {"metrics", row.values}};
    if (std::all_of(req.having.begin(), req.having.end(),
                    [&](const AggregateRequest::Having& h) { return HavingMatches(h, ValueOf(r, h.field)); })) {
      results.push_back(std::move(r));
    }
  }
  if (!req.sort_by.empty()) {
    std::stable_sort(results.begin(), results.end(), [&](const Json& a, const Json& b) {
      int c = Compare(ValueOf(a, req.sort_by), ValueOf(b, req.sort_by));
      return req.sort_desc ? c > 0 : c < 0;
    });
  }
  if (static_cast<int64_t>(results.size()) > req.limit) results.resize(static_cast<size_t>(req.limit));
  Json info = {{"group_by", req.spec.group_by}, {"limit", req.limit}};
  if (!req.sort_by.empty()) {
    info["sort_by"] = req.sort_by;
    info["sort_direction"] = req.sort_desc ? "desc" : "asc";
  }
  info.update(query_info);
  return Json{{"results", results}, {"total_groups", results.size()}, {"query_info", info}};
}

}  // namespace strata::catalog
