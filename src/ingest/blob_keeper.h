// Serialises the two moments of a blob's life that race: linking a staged file
// into the store as part of a metadata transaction, and removing a file whose
// last reference a transaction just dropped. Without the lock, a writer could
// reuse a file (same content) that a concurrent delete is about to unlink.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "storage/blob_store.h"

namespace strata::ingest {

class BlobKeeper {
 public:
  explicit BlobKeeper(storage::BlobStore& store) : store_(store) {}
  storage::BlobStore& store() { return store_; }
  // Hold while running a metadata write that commits or drops blobs, and while
  // removing the files it freed.
  std::unique_lock<std::mutex> Lock() { return std::unique_lock<std::mutex>(mu_); }
  // Removes files that no record references any more (call with the lock held,
  // after the transaction that freed them committed).
  void RemoveFiles(const std::vector<std::string>& shas) {
    for (const auto& sha : shas) (void)store_.Remove(sha);
  }

 private:
  storage::BlobStore& store_;
  std::mutex mu_;
};

}  // namespace strata::ingest
