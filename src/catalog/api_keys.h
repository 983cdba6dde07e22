// Organizations, API keys and the caller's identity (Principal).
//
// Keys are "sk_" + 40 random base62 characters. Only their SHA-256 is stored;
// the plaintext is returned once, by create and rotate. Permissions are
// read|write|delete|admin; admin implies every other.
#pragma once

#include <string>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"
#include "storage/metadata_store.h"

namespace strata::catalog {

enum class Permission { kRead, kWrite, kDelete, kAdmin };

struct Principal {
  int64_t org = 0;              // internal id: scopes every query, never shown
  std::string organization_id;  // public id
  std::string key_id;
  std::string key_name;
  std::vector<std::string> permissions;

  bool Has(Permission p) const;
};

const char* PermissionName(Permission p);

// Resolves "Bearer sk_..." (the header value, or the bare key) to its Principal.
// Missing, malformed, unknown, revoked and expired keys are all Unauthenticated
// with a message that says which, never which organizations exist.
Result<Principal> Authenticate(storage::MetadataStore& store, std::string_view authorization);

// Makes sure an organization and an admin key exist. With `admin_key` set, that
// key is (re)registered as the "bootstrap-admin" key. Without it, when the
// organization has no key yet, one is generated: the returned string is then the
// new plaintext key, to be printed once; otherwise the result is "".
Result<std::string> Bootstrap(storage::MetadataStore& store, const std::string& admin_key);

Result<Json> CreateApiKey(storage::MetadataStore& store, const Principal& who,
                          const std::string& user_email, const Json& body);
Result<Json> ListApiKeys(storage::MetadataStore& store, const Principal& who,
                         const std::string& user_email, bool include_revoked);
Result<Json> UpdateApiKey(storage::MetadataStore& store, const Principal& who,
                          const std::string& user_email, const std::string& key_name, const Json& body);
Result<Json> RevokeApiKey(storage::MetadataStore& store, const Principal& who,
                          const std::string& user_email, const std::string& key_name);
Result<Json> RotateApiKey(storage::MetadataStore& store, const Principal& who,
                          const std::string& user_email, const std::string& key_name);

// Operator calls (the /v1/private routes): only an admin key of the server's
// first organization (the one bootstrap created) may create organizations and
// hand out their first admin key.
Result<Json> CreateOrganization(storage::MetadataStore& store, const Principal& who, const Json& body);
Result<Json> CreateOrganizationAdminKey(storage::MetadataStore& store, const Principal& who,
                                        const std::string& organization_id, const std::string& user_email);

Result<Json> GetOrganization(storage::MetadataStore& store, const Principal& who);
Result<Json> PatchOrganization(storage::MetadataStore& store, const Principal& who, const Json& body);

}  // namespace strata::catalog
