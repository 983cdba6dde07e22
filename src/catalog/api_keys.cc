#include "catalog/api_keys.h"

#include <algorithm>

#include "core/crypto.h"
#include "core/generation_cache.h"
#include "core/ids.h"
#include "core/time_util.h"

namespace strata::catalog {

using storage::Kind;
using storage::MetadataStore;
using storage::Record;
using storage::Scope;

namespace {

constexpr const char* kPermissionNames[] = {"read", "write", "delete", "admin"};
constexpr size_t kKeyRandomChars = 40;

std::string NewKeyText() { return "sk_" + RandomAlnum(kKeyRandomChars); }

bool ValidEmail(const std::string& e) {
  auto at = e.find('@');
  return e.size() <= 254 && at != std::string::npos && at > 0 && at + 1 < e.size() &&
         e.find_first_of(" /\\\"<>") == std::string::npos;
}

Status CheckAdmin(const Principal& who) {
  if (!who.Has(Permission::kAdmin)) {
    return Status::PermissionDenied("managing API keys needs the 'admin' permission");
  }
  return Status::Ok();
}

// Validates the writable fields of APIKeyCreateRequest / APIKeyUpdateRequest into `doc`.
Status ApplyKeyFields(const Json& body, bool creating, Json& doc) {
  ValidationErrors errs;
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  std::vector<std::string> allowed = {"name", "description", "permissions", "scopes", "rate_limit_override",
                                      "expires_at"};
  if (!creating) allowed.push_back("status");  // a new key is always active
  errs.RejectUnknownKeys(body, allowed, "body");
  if (creating || body.contains("name")) {
    const Json* name = body.contains("name") ? &body["name"] : nullptr;
    if (!name || !name->is_string() || name->get<std::string>().empty() ||
        name->get<std::string>().size() > 128) {
      errs.Add("body.name", "name is required: a string of 1-128 characters", "missing");
    } else {
      doc["name"] = *name;
    }
  }
  if (body.contains("description") && !body["description"].is_null()) {
    if (!body["description"].is_string()) errs.Add("body.description", "must be a string", "type_error");
    else doc["description"] = body["description"];
  }
  if (body.contains("permissions") && !body["permissions"].is_null()) {
    const Json& p = body["permissions"];
    bool ok = p.is_array() && !p.empty();
    for (const auto& v : p) {
      ok = ok && v.is_string() &&
           std::find(std::begin(kPermissionNames), std::end(kPermissionNames), v.get<std::string>()) !=
               std::end(kPermissionNames);
    }
    if (!ok) errs.Add("body.permissions", "a non-empty list of read, write, delete, admin", "enum");
    else doc["permissions"] = p;
  } else if (creating) {
    doc["permissions"] = Json::array({"read"});
  }
  if (body.contains("scopes") && !body["scopes"].is_null()) {
    if (!body["scopes"].is_array()) errs.Add("body.scopes", "must be a list", "type_error");
    else doc["scopes"] = body["scopes"];
  }
  if (body.contains("rate_limit_override") && !body["rate_limit_override"].is_null()) {
    if (!body["rate_limit_override"].is_number_integer() || body["rate_limit_override"].get<int64_t>() < 1) {
      errs.Add("body.rate_limit_override", "must be a positive integer", "type_error");
    } else {
      doc["rate_limit_override"] = body["rate_limit_override"];
    }
  }
  if (body.contains("expires_at") && !body["expires_at"].is_null()) {
    if (!body["expires_at"].is_string() || !IsIsoDateTime(body["expires_at"].get<std::string>())) {
      errs.Add("body.expires_at", "must be an ISO 8601 date-time", "type_error");
    } else {
      doc["expires_at"] = body["expires_at"];
    }
  }
  if (body.contains("status") && !body["status"].is_null()) {
    const Json& s = body["status"];
    if (!s.is_string() || (s != "active" && s != "revoked")) {
      errs.Add("body.status", "must be 'active' or 'revoked'", "enum");
    } else {
      doc["status"] = s;
    }
  }
  return errs.ToStatus();
}

// The key as the API shows it: never the hash's preimage.
Json PublicKey(const Json& doc) {
  Json out = doc;
  if (out.value("status", "active") == "active" && out.contains("expires_at") &&
      out["expires_at"].is_string()) {
    auto exp = ParseIso8601(out["expires_at"].get<std::string>());
    if (exp && *exp <= NowUnixMillis()) out["status"] = "expired";
  }
  return out;
}

Result<Record> FindKey(storage::Writer& w, const Principal& who, const std::string& user_email,
                       const std::string& key_name) {
  auto r = w.Get(Kind::kApiKey, Scope{who.org, ""}, key_name);
  if (!r.ok() || r->doc.value("user_id", "") != user_email) {
    if (!r.ok() && r.status().code() != StatusCode::kNotFound) return r.status();
    return Status::NotFound("API key '" + key_name + "' not found for user '" + user_email + "'");
  }
  return r;
}

}  // namespace

bool Principal::Has(Permission p) const {
  auto has = [&](const char* n) { return std::find(permissions.begin(), permissions.end(), n) != permissions.end(); };
  return has("admin") || has(PermissionName(p));
}

const char* PermissionName(Permission p) { return kPermissionNames[static_cast<int>(p)]; }

namespace {

// Authentication is on every request; looking the key up each time cost more
// than the rest of a small write. Every key change in this process invalidates
// it (so revoke and rotate take effect at once).
GenerationCache<Principal>& Cache() {
  static GenerationCache<Principal> cache(5000);
  return cache;
}

struct InvalidateAuthCacheOnExit {
  ~InvalidateAuthCacheOnExit() { Cache().Invalidate(); }
};

}  // namespace

Result<Principal> Authenticate(MetadataStore& store, std::string_view authorization) {
  std::string_view token = authorization;
  if (token.empty()) {
    return Status::Unauthenticated("missing Authorization header: send 'Authorization: Bearer sk_...'");
  }
  if (token.size() > 7 && (token.substr(0, 7) == "Bearer " || token.substr(0, 7) == "bearer ")) {
    token = token.substr(7);
  }
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (token.substr(0, 3) != "sk_" || token.size() > 256) {
    return Status::Unauthenticated("malformed API key: expected 'Bearer sk_...'");
  }
  const std::string hash = Sha256Hex(token);
  // Keyed by store too: one process may serve several stores (tests, benchmarks).
  const std::string cache_key = std::to_string(reinterpret_cast<uintptr_t>(&store)) + ":" + hash;
  if (auto cached = Cache().Get(cache_key)) return *cached;
  const uint64_t generation = Cache().generation();
  Principal p;
  int64_t valid_until = 0;
  Status st = store.Read([&](storage::Reader& r) -> Status {
    int64_t org = 0;
    ASSIGN_OR_RETURN(auto rec, r.FindApiKeyByHash(hash, &org));
    if (!rec) return Status::Unauthenticated("invalid API key");
    Json doc = PublicKey(rec->doc);
    if (doc.value("status", "") != "active") {
      return Status::Unauthenticated("API key is " + doc.value("status", std::string("inactive")));
    }
    ASSIGN_OR_RETURN(auto organization, r.GetOrganization(org));
    if (!organization) return Status::Unauthenticated("invalid API key");
    p.org = org;
    p.organization_id = organization->organization_id;
    p.key_id = doc.value("key_id", "");
    p.key_name = doc.value("name", "");
    p.permissions = doc.value("permissions", std::vector<std::string>{});
    if (doc["expires_at"].is_string()) {  // never serve a key from cache past its expiry
      valid_until = ParseIso8601(doc["expires_at"].get<std::string>()).value_or(1);
    }
    return Status::Ok();
  });
  RETURN_IF_ERROR(st);
  Cache().Put(cache_key, p, generation, valid_until);
  return p;
}

namespace {

Json NewKeyDoc(const std::string& organization_id, const std::string& user_email, const std::string& key,
               const std::string& created_by) {
  const std::string now = NowIso8601();
  return {{"key_id", NewId("key_")},
          {"key_hash", Sha256Hex(key)},
          {"key_prefix", key.substr(0, 10)},
          {"key_type", "standard"},
          {"internal_id", organization_id},  // the public id: the internal one never leaves the store
          {"organization_id", organization_id},
          {"user_id", user_email},
          {"description", ""},
          {"permissions", Json::array({"read"})},
          {"scopes", Json::array()},
          {"rate_limit_override", nullptr},
          {"status", "active"},
          {"expires_at", nullptr},
          {"last_used_at", nullptr},
          {"created_at", now},
          {"created_by", created_by},
          {"revoked_at", nullptr},
          {"revoked_by", nullptr},
          {"allowed_origins", nullptr}};
}

Record KeyRecord(const Json& doc) {
  return Record{doc["key_id"], "", doc["name"].get<std::string>(), doc["key_hash"].get<std::string>(),
                std::nullopt, doc};
}

}  // namespace

Result<std::string> Bootstrap(MetadataStore& store, const std::string& admin_key) {
  InvalidateAuthCacheOnExit invalidate;  // after the change commits
  if (!admin_key.empty() && (admin_key.substr(0, 3) != "sk_" || admin_key.size() < 20)) {
    return Status::BadRequest("STRATA_ADMIN_KEY must start with 'sk_' and be at least 20 characters");
  }
  std::string printed;
  RETURN_IF_ERROR(store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(auto org, w.FirstOrganization());
    if (!org) {
      const std::string now = NowIso8601();
      Json doc = {{"organization_name", "default"}, {"account_type", "enterprise"},
                  {"credit_count", 0}, {"metadata", Json::object()}, {"created_at", now},
                  {"updated_at", now}};
      ASSIGN_OR_RETURN(auto created, w.CreateOrganization(NewId("org_"), doc));
      org = created;
    }
    Scope scope{org->internal_id, ""};
    ASSIGN_OR_RETURN(int64_t keys, w.Count(Kind::kApiKey, scope, std::nullopt));
    std::string key = admin_key;
    if (key.empty()) {
      if (keys > 0) return Status::Ok();
      key = NewKeyText();
      printed = key;
    }
    int64_t owner = 0;
    ASSIGN_OR_RETURN(auto existing, w.FindApiKeyByHash(Sha256Hex(key), &owner));
    if (existing) return Status::Ok();
    Json doc = NewKeyDoc(org->organization_id, "admin@localhost", key, "bootstrap");
    doc["name"] = "bootstrap-admin";
    doc["permissions"] = Json::array({"read", "write", "delete", "admin"});
    auto old = w.Get(Kind::kApiKey, scope, "bootstrap-admin");
    if (old.ok()) {  // the environment names a new bootstrap key: it replaces the old one
      doc["key_id"] = old->doc["key_id"];
      return w.Update(Kind::kApiKey, scope, KeyRecord(doc));
    }
    return w.Insert(Kind::kApiKey, scope, KeyRecord(doc));
  }));
  return printed;
}

Result<Json> CreateApiKey(MetadataStore& store, const Principal& who, const std::string& user_email,
                          const Json& body) {
  InvalidateAuthCacheOnExit invalidate;  // after the change commits
  RETURN_IF_ERROR(CheckAdmin(who));
  if (!ValidEmail(user_email)) return Status::Invalid("path.user_email", "not an email address");
  std::string key = NewKeyText();
  Json doc = NewKeyDoc(who.organization_id, user_email, key, who.key_id);
  RETURN_IF_ERROR(ApplyKeyFields(body, true, doc));
  Status st = store.Write([&](storage::Writer& w) { return w.Insert(Kind::kApiKey, Scope{who.org, ""}, KeyRecord(doc)); });
  if (st.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("an API key named '" + doc["name"].get<std::string>() + "' already exists");
  }
  RETURN_IF_ERROR(st);
  Json out = PublicKey(doc);
  out["key"] = key;
  return out;
}

Result<Json> ListApiKeys(MetadataStore& store, const Principal& who, const std::string& user_email,
                         bool include_revoked) {
  RETURN_IF_ERROR(CheckAdmin(who));
  Json keys = Json::array();
  RETURN_IF_ERROR(store.Read([&](storage::Reader& r) -> Status {
    storage::ListQuery q;
    q.limit = 10000;
    ASSIGN_OR_RETURN(auto page, r.List(Kind::kApiKey, Scope{who.org, ""}, q));
    for (auto& rec : page.records) {
      if (rec.doc.value("user_id", "") != user_email) continue;
      Json k = PublicKey(rec.doc);
      if (!include_revoked && k["status"] == "revoked") continue;
      keys.push_back(std::move(k));
    }
    return Status::Ok();
  }));
  return Json{{"keys", keys}, {"total", keys.size()}};
}

Result<Json> UpdateApiKey(MetadataStore& store, const Principal& who, const std::string& user_email,
                          const std::string& key_name, const Json& body) {
  InvalidateAuthCacheOnExit invalidate;  // after the change commits
  RETURN_IF_ERROR(CheckAdmin(who));
  Json out;
  Status st = store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record rec, FindKey(w, who, user_email, key_name));
    RETURN_IF_ERROR(ApplyKeyFields(body, false, rec.doc));
    if (rec.doc["status"] == "revoked" && rec.doc["revoked_at"].is_null()) {
      rec.doc["revoked_at"] = NowIso8601();
      rec.doc["revoked_by"] = who.key_id;
    }
    rec.name = rec.doc["name"].get<std::string>();
    out = PublicKey(rec.doc);
    return w.Update(Kind::kApiKey, Scope{who.org, ""}, rec);
  });
  if (st.code() == StatusCode::kAlreadyExists) return Status::AlreadyExists("an API key with that name already exists");
  RETURN_IF_ERROR(st);
  return out;
}

Result<Json> RevokeApiKey(MetadataStore& store, const Principal& who, const std::string& user_email,
                          const std::string& key_name) {
  InvalidateAuthCacheOnExit invalidate;  // after the change commits
  RETURN_IF_ERROR(CheckAdmin(who));
  RETURN_IF_ERROR(store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record rec, FindKey(w, who, user_email, key_name));
    rec.doc["status"] = "revoked";
    rec.doc["revoked_at"] = NowIso8601();
    rec.doc["revoked_by"] = who.key_id;
    return w.Update(Kind::kApiKey, Scope{who.org, ""}, rec);
  }));
  return Json{{"success", true}, {"message", "API key '" + key_name + "' revoked"}};
}

Result<Json> RotateApiKey(MetadataStore& store, const Principal& who, const std::string& user_email,
                          const std::string& key_name) {
  InvalidateAuthCacheOnExit invalidate;  // after the change commits
  RETURN_IF_ERROR(CheckAdmin(who));
  std::string key = NewKeyText();
  Json out;
  RETURN_IF_ERROR(store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record rec, FindKey(w, who, user_email, key_name));
    if (rec.doc.value("status", "") == "revoked") {
      return Status::BadRequest("API key '" + key_name + "' is revoked; create a new one");
    }
    // The old secret stops working the moment this commits.
    rec.doc["key_hash"] = Sha256Hex(key);
    rec.doc["key_prefix"] = key.substr(0, 10);
    rec.ukey = rec.doc["key_hash"].get<std::string>();
    out = PublicKey(rec.doc);
    return w.Update(Kind::kApiKey, Scope{who.org, ""}, rec);
  }));
  out["key"] = key;
  return out;
}

namespace {

Status CheckOperator(MetadataStore& store, const Principal& who) {
  if (!who.Has(Permission::kAdmin)) return Status::PermissionDenied("needs the 'admin' permission");
  Status st = store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto first, r.FirstOrganization());
    if (!first || first->internal_id != who.org) {
      return Status::PermissionDenied("only the server operator's organization may manage organizations");
    }
    return Status::Ok();
  });
  return st;
}

Json OrganizationJson(const storage::Organization& org) {
  Json out = org.doc;
  out["organization_id"] = org.organization_id;
  out["internal_id"] = org.organization_id;  // the internal number never leaves the store
  // Per-key rate limits are not enforced yet; these are the API's documented defaults.
  out["rate_limits"] = {{"metadata", 10}, {"data", 10}, {"search", 10}, {"upload", 10}, {"compute", 10}};
  return out;
}

}  // namespace

Result<Json> CreateOrganization(MetadataStore& store, const Principal& who, const Json& body) {
  RETURN_IF_ERROR(CheckOperator(store, who));
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(body, {"organization_name", "logo_url", "metadata", "account_type", "users", "credit_count"},
                         "body");
  if (!body.contains("organization_name") || !body["organization_name"].is_string() ||
      body["organization_name"].get<std::string>().empty()) {
    errs.Add("body.organization_name", "field required", "missing");
  }
  if (body.contains("metadata") && !body["metadata"].is_null() && !body["metadata"].is_object()) {
    errs.Add("body.metadata", "must be an object", "type_error");
  }
  std::string tier = body.contains("account_type") && body["account_type"].is_string() ? body["account_type"].get<std::string>() : "enterprise";
  if (tier != "free" && tier != "pro" && tier != "team" && tier != "enterprise") {
    errs.Add("body.account_type", "must be free, pro, team or enterprise", "enum");
  }
  RETURN_IF_ERROR(errs.ToStatus());
  const std::string now = NowIso8601();
  Json doc = {{"organization_name", body["organization_name"]}, {"account_type", tier},
              {"logo_url", body.value("logo_url", Json())}, {"credit_count", 0},
              {"metadata", body.contains("metadata") && body["metadata"].is_object() ? body["metadata"] : Json::object()},
              {"spending_alert_thresholds", Json::array()}, {"spending_alerts_sent", Json::array()},
              {"dedicated_cluster_ids", Json::array()}, {"secrets", Json::object()},
              {"created_at", now}, {"updated_at", now}};
  storage::Organization org;
  RETURN_IF_ERROR(store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(org, w.CreateOrganization(NewId("org_"), doc));
    return Status::Ok();
  }));
  return OrganizationJson(org);
}

Result<Json> CreateOrganizationAdminKey(MetadataStore& store, const Principal& who, const std::string& organization_id,
                                        const std::string& user_email) {
  InvalidateAuthCacheOnExit invalidate;  // after the change commits
  RETURN_IF_ERROR(CheckOperator(store, who));
  if (!ValidEmail(user_email)) return Status::Invalid("path.user_email", "not an email address");
  std::string key = NewKeyText();
  Json doc;
  RETURN_IF_ERROR(store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(auto org, w.FindOrganization(organization_id));
    if (!org) return Status::NotFound("organization '" + organization_id + "' not found");
    doc = NewKeyDoc(org->organization_id, user_email, key, who.key_id);
    doc["name"] = "admin-" + RandomAlnum(8);
    doc["permissions"] = Json::array({"read", "write", "delete", "admin"});
    return w.Insert(Kind::kApiKey, Scope{org->internal_id, ""}, KeyRecord(doc));
  }));
  Json out = PublicKey(doc);
  out["key"] = key;
  return out;
}

Result<Json> GetOrganization(MetadataStore& store, const Principal& who) {
  Json out;
  RETURN_IF_ERROR(store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto org, r.GetOrganization(who.org));
    if (!org) return Status::NotFound("organization not found");
    out = OrganizationJson(*org);
    return Status::Ok();
  }));
  return out;
}

Result<Json> PatchOrganization(MetadataStore& store, const Principal& who, const Json& body) {
  if (!who.Has(Permission::kAdmin)) return Status::PermissionDenied("needs the 'admin' permission");
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() == "organization_name" || it.key() == "billing_email" || it.key() == "logo_url") {
      if (!it.value().is_string() && !(it.key() != "organization_name" && it.value().is_null())) {
        errs.Add("body." + it.key(), "must be a string", "type_error");
      }
    } else if (it.key() == "metadata") {
      if (!it.value().is_object()) errs.Add("body.metadata", "must be an object", "type_error");
    } else {
      errs.Add("body." + it.key(), "not a patchable field", "unknown_field");
    }
  }
  RETURN_IF_ERROR(errs.ToStatus());
  RETURN_IF_ERROR(store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(auto org, w.GetOrganization(who.org));
    if (!org) return Status::NotFound("organization not found");
    for (auto it = body.begin(); it != body.end(); ++it) org->doc[it.key()] = it.value();
    org->doc["updated_at"] = NowIso8601();
    return w.UpdateOrganization(*org);
  }));
  return GetOrganization(store, who);
}

}  // namespace strata::catalog
