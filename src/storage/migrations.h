// Schema migrations of the embedded store, versioned from the first release.
// Each entry runs once, in order, inside one transaction; the applied version is
// kept in schema_migrations. Never edit a released migration: append a new one.
#pragma once

#include <string>

#include "core/status.h"
#include "storage/sqlite_db.h"

namespace strata::storage {

// Applies every migration newer than the database's version. Refuses to open a
// database written by a newer Strata (its version is above what this build knows).
Status Migrate(Database& db);
int LatestSchemaVersion();

// The full-text index of one collection: an FTS5 table per collection, so
// BM25's statistics (document frequencies, average length) are the
// collection's own and no other collection or tenant moves its scores.
// rowid = documents.seq, so an upsert keeps its row.
std::string FullTextTable(const std::string& collection);  // quoted SQL name
std::string CreateFullTextTableSql(const std::string& collection);

}  // namespace strata::storage
