#include "catalog/list_request.h"

#include <algorithm>
#include <cstdlib>

namespace strata::catalog {

ListRequest& ListRequest::operator=(ListRequest&& o) noexcept {
  query = std::move(o.query);
  filter = std::move(o.filter);
  select = std::move(o.select);
  query.filter = filter ? &*filter : nullptr;
  return *this;
}

namespace {

Status ParseIntParam(const QueryParams& params, const std::string& name, int64_t lo, int64_t hi,
                     int64_t* out) {
  auto it = params.find(name);
  if (it == params.end()) return Status::Ok();
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end || errno || v < lo || v > hi) {
    return Status::Invalid("query." + name,
                           "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi),
                           "type_error");
  }
  *out = v;
  return Status::Ok();
}

bool IsTrue(const std::string& v) { return v == "true" || v == "1" || v == "yes"; }

}  // namespace

Result<ListRequest> ParseListRequest(const Json& body, const QueryParams& params,
                                     const std::vector<std::string>& allowed_body_keys) {
  ListRequest out;
  auto& q = out.query;
  RETURN_IF_ERROR(ParseIntParam(params, "limit", 1, 1000, &q.limit));
  RETURN_IF_ERROR(ParseIntParam(params, "offset", 0, 1000000000, &q.offset));
  if (auto it = params.find("cursor"); it != params.end()) q.cursor = it->second;
  if (auto it = params.find("include_total"); it != params.end()) q.include_total = IsTrue(it->second);

  if (body.is_null()) return out;
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  std::vector<std::string> allowed = {"filters", "sort", "search", "select", "case_sensitive", "limit", "offset"};
  allowed.insert(allowed.end(), allowed_body_keys.begin(), allowed_body_keys.end());
  errs.RejectUnknownKeys(body, allowed, "body");
  // Some list bodies (uploads) carry limit/offset in the body too; the query wins.
  for (const char* k : {"limit", "offset"}) {
    if (body.contains(k) && !params.count(k)) {
      const Json& v = body[k];
      int64_t lo = std::string(k) == "limit" ? 1 : 0, hi = std::string(k) == "limit" ? 1000 : 1000000000;
      if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
        errs.Add(std::string("body.") + k, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi), "type_error");
      } else {
        (std::string(k) == "limit" ? q.limit : q.offset) = v.get<int64_t>();
      }
    }
  }
  if (body.contains("filters") && !body["filters"].is_null()) {
    auto f = filter::Parse(body["filters"], "body.filters");
    if (!f.ok()) return f.status();
    out.filter = std::move(f).value();
    q.filter = &*out.filter;
  }
  if (body.contains("sort") && !body["sort"].is_null()) {
    const Json& s = body["sort"];
    if (!s.is_object() || !s.contains("field") || !s["field"].is_string() || s["field"].get<std::string>().empty()) {
      errs.Add("body.sort", "expected {\"field\": \"...\", \"direction\": \"asc\"|\"desc\"}", "type_error");
    } else {
      q.sort.field = s["field"].get<std::string>();
      std::string dir = s.value("direction", "asc");
      if (dir != "asc" && dir != "desc") errs.Add("body.sort.direction", "must be 'asc' or 'desc'", "enum");
      q.sort.descending = dir == "desc";
    }
  }
  if (body.contains("search") && !body["search"].is_null()) {
    if (!body["search"].is_string()) errs.Add("body.search", "must be a string", "type_error");
    else q.search = body["search"].get<std::string>();
  }
  if (body.contains("select") && !body["select"].is_null()) {
    const Json& s = body["select"];
    if (!s.is_array()) {
      errs.Add("body.select", "must be a list of field paths", "type_error");
    } else {
      for (const auto& p : s) {
        if (!p.is_string() || p.get<std::string>().empty()) {
          errs.Add("body.select", "must be a list of field paths", "type_error");
          break;
        }
        out.select.push_back(p.get<std::string>());
      }
    }
  }
  RETURN_IF_ERROR(errs.ToStatus());
  return out;
}

Json PaginationJson(const storage::ListPage& page, const storage::ListQuery& q) {
  Json p = {{"page_size", q.limit},
            {"next_cursor", page.next_cursor.empty() ? Json(nullptr) : Json(page.next_cursor)},
            {"total", page.total ? Json(*page.total) : Json(nullptr)},
            {"page", nullptr}, {"total_pages", nullptr},
            {"next_page", nullptr}, {"previous_page", nullptr}};
  if (q.cursor.empty()) {
    p["page"] = q.offset / q.limit + 1;
    if (page.total) p["total_pages"] = (*page.total + q.limit - 1) / q.limit;
    if (!page.next_cursor.empty()) {
      p["next_page"] = "?limit=" + std::to_string(q.limit) + "&offset=" + std::to_string(q.offset + q.limit);
    }
    if (q.offset > 0) {
      p["previous_page"] = "?limit=" + std::to_string(q.limit) +
                           "&offset=" + std::to_string(std::max<int64_t>(0, q.offset - q.limit));
    }
  }
  return p;
}

Result<Json> RunList(storage::MetadataStore& store, const ListSpec& spec, ListRequest& req) {
  Json results = Json::array();
  storage::ListPage page;
  RETURN_IF_ERROR(store.Read([&](storage::Reader& r) -> Status {
    if (spec.prepare) RETURN_IF_ERROR(spec.prepare(r, req.query));
    ASSIGN_OR_RETURN(page, r.List(spec.kind, spec.scope, req.query));
    for (auto& rec : page.records) {
      Json doc = std::move(rec.doc);
      if (spec.present) {
        ASSIGN_OR_RETURN(doc, spec.present(r, std::move(doc)));
      }
      results.push_back(ApplySelect(doc, req.select, spec.id_fields));
    }
    return Status::Ok();
  }));
  Json out = {{"results", std::move(results)}, {"pagination", PaginationJson(page, req.query)}};
  if (page.total) out["total_count"] = *page.total;
  return out;
}

Json ApplySelect(const Json& doc, const std::vector<std::string>& select,
                 const std::vector<std::string>& id_fields) {
  if (select.empty()) return doc;
  return SelectPaths(doc, select, id_fields);
}

}  // namespace strata::catalog
