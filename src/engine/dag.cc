#include "engine/dag.h"

#include <algorithm>
#include <map>

namespace strata::engine {

using storage::Kind;
using storage::Record;

namespace {

Result<std::vector<Record>> AllCollections(storage::Reader& r, const storage::Scope& scope) {
  std::vector<Record> out;
  storage::ListQuery q;
  q.limit = 1000;
  while (true) {
    ASSIGN_OR_RETURN(auto page, r.List(Kind::kCollection, scope, q));
    for (auto& rec : page.records) out.push_back(std::move(rec));
    if (page.next_cursor.empty()) break;
    q.cursor = page.next_cursor;
  }
  return out;
}

bool Enabled(const Record& c) { return c.doc.value("enabled", true); }

// Places every collection that reads a placed collection one tier below the
// deepest of its placed sources, repeating until nothing moves, so all of a
// collection's sources are complete when it runs. Sources are acyclic (a
// collection can only name collections that existed before it), so this ends.
Tiers Expand(std::map<std::string, int> placed, const std::vector<Record>& all) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (const auto& c : all) {
      if (!Enabled(c) || c.doc["source"].value("type", "") != "collection") continue;
      int tier = -1;
      for (const auto& s : c.doc["source"].value("collection_ids", Json::array())) {
        auto it = placed.find(s.get<std::string>());
        if (it != placed.end() && it->first != c.id) tier = std::max(tier, it->second + 1);
      }
      auto cur = placed.find(c.id);
      if (tier >= 0 && (cur == placed.end() || cur->second < tier)) {
        placed[c.id] = tier;
        changed = true;
      }
    }
  }
  int depth = 0;
  for (const auto& [id, t] : placed) depth = std::max(depth, t + 1);
  Tiers tiers(depth);
  for (const auto& c : all) {  // `all` is in creation order: tiers list collections stably
    auto it = placed.find(c.id);
    if (it != placed.end()) tiers[it->second].push_back(c);
  }
  return tiers;
}

}  // namespace

Result<Tiers> TiersForBucket(storage::Reader& r, const storage::Scope& scope, const std::string& bucket_id) {
  ASSIGN_OR_RETURN(auto all, AllCollections(r, scope));
  std::map<std::string, int> placed;
  for (const auto& c : all) {
    if (!Enabled(c) || c.doc["source"].value("type", "") != "bucket") continue;
    for (const auto& b : c.doc["source"].value("bucket_ids", Json::array())) {
      if (b == bucket_id) placed[c.id] = 0;
    }
  }
  if (placed.empty()) return Tiers{};
  return Expand(placed, all);
}

Result<Tiers> TiersFromCollection(storage::Reader& r, const storage::Scope& scope, const Record& collection) {
  ASSIGN_OR_RETURN(auto all, AllCollections(r, scope));
  return Expand({{collection.id, 0}}, all);
}

}  // namespace strata::engine
