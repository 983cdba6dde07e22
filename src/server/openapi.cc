// The OpenAPI document Strata serves at GET /v1/openapi.json, built from the
// route table so it lists exactly the paths this server answers. Request and
// response shapes follow Mixpeek's API v0.81; its schema names are referenced
// in each operation's description.
#include <regex>
#include <set>

#include "server/http_server.h"

namespace strata::server {

namespace {

Json ErrorSchema() {
  return {{"type", "object"},
          {"required", {"success", "status", "error"}},
          {"properties",
           {{"success", {{"type", "boolean"}, {"const", false}}},
            {"status", {{"type", "integer"}}},
            {"error",
             {{"type", "object"},
              {"required", {"message", "type"}},
              {"properties",
               {{"message", {{"type", "string"}}},
                {"type", {{"type", "string"}}},
                {"details", {{"type", "object"}, {"additionalProperties", true}}}}}}}}}};
}

const char* AccessText(Access a) {
  switch (a) {
    case Access::kPublic: return "none (public)";
    case Access::kRead: return "read";
    case Access::kWrite: return "write";
    case Access::kDelete: return "delete";
    case Access::kAdmin: return "admin";
  }
  return "";
}

}  // namespace

Json OpenApiDocument(const std::vector<Route>& routes) {
  Json paths = Json::object();
  Json error_ref = {{"$ref", "#/components/schemas/ErrorResponse"}};
  for (const auto& r : routes) {
    std::string method = r.method;
    for (auto& ch : method) ch = static_cast<char>(std::tolower(ch));
    Json params = Json::array();
    std::regex param(R"(\{([^}]+)\})");
    for (std::sregex_iterator it(r.path.begin(), r.path.end(), param), end; it != end; ++it) {
      params.push_back({{"name", (*it)[1].str()}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
    }
    if (r.namespaced) {
      params.push_back({{"name", "X-Namespace"}, {"in", "header"}, {"required", true},
                        {"description", "namespace id (ns_...) or name"}, {"schema", {{"type", "string"}}}});
    }
    if (r.path.size() > 5 && r.path.substr(r.path.size() - 5) == "/list") {
      for (const char* q : {"limit", "offset"}) {
        params.push_back({{"name", q}, {"in", "query"}, {"required", false}, {"schema", {{"type", "integer"}}}});
      }
      params.push_back({{"name", "cursor"}, {"in", "query"}, {"required", false}, {"schema", {{"type", "string"}}}});
      params.push_back({{"name", "include_total"}, {"in", "query"}, {"required", false}, {"schema", {{"type", "boolean"}}}});
    }
    Json op = {{"summary", r.method + " " + r.path},
               {"description", std::string("Permission: ") + AccessText(r.access) + "."},
               {"parameters", params},
               {"responses",
                {{"200", {{"description", "OK"}, {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}}},
                 {"default", {{"description", "error envelope"}, {"content", {{"application/json", {{"schema", error_ref}}}}}}}}}};
    if (r.access != Access::kPublic) op["security"] = Json::array({{{"bearer", Json::array()}}});
    if (method == "post" || method == "put" || method == "patch") {
      op["requestBody"] = {{"required", false},
                           {"content", {{"application/json", {{"schema", {{"type", "object"}, {"additionalProperties", true}}}}}}}};
    }
    paths[r.path][method] = op;
  }
  return {{"openapi", "3.1.0"},
          {"info", {{"title", "Strata API"}, {"version", "0.1.0"},
                    {"description", "Strata's HTTP API, following Mixpeek's public API v0.81."}}},
          {"paths", paths},
          {"components",
           {{"schemas", {{"ErrorResponse", ErrorSchema()}}},
            {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}}};
}

}  // namespace strata::server
