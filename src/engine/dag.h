// The collection DAG: which collections consume a bucket (tier 0) and which
// consume those (tier 1, 2, …). A batch runs its tiers in order; within a
// tier, collections run side by side.
#pragma once

#include <string>
#include <vector>

#include "storage/metadata_store.h"

namespace strata::engine {

using Tiers = std::vector<std::vector<storage::Record>>;  // collection records by tier

// Every enabled collection fed, directly or through other collections, by `bucket_id`.
Result<Tiers> TiersForBucket(storage::Reader& r, const storage::Scope& scope, const std::string& bucket_id);
// `collection` at tier 0 and every enabled collection downstream of it.
Result<Tiers> TiersFromCollection(storage::Reader& r, const storage::Scope& scope, const storage::Record& collection);

}  // namespace strata::engine
