// BlobStore: a content-addressed store of blob bytes on the local filesystem.
// It is the only code that writes blob files. Bytes are first written to a
// temporary file while being hashed (so a 100 MB upload never sits in memory),
// then renamed to <root>/<first 2 hex of sha>/<sha256 hex>. Because the name is
// the hash, the same content is stored once, and a final file is never
// rewritten: a reader can open it at any time without locks.
//
// Crash safety: a staged blob lives in <root>/tmp until Commit renames it into
// place (after fsync of the data, then of the directory). Whatever a crash
// leaves behind (temp files, final files the catalog never came to reference)
// is cleaned by Sweep at start-up.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/crypto.h"
#include "core/status.h"

namespace strata::storage {

// Bytes written and fsynced to a temp file, not yet in their final place. The
// owner must Commit or Discard it.
struct StagedBlob {
  std::string temp_path;
  std::string sha256;  // 64 lowercase hex
  uint64_t size = 0;
};

class BlobStore {
 public:
  // Opens (creating when missing) the store rooted at `root`.
  static Result<std::unique_ptr<BlobStore>> Open(const std::string& root);

  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;

  // Streams bytes to a temp file while hashing them. Not thread-safe (one
  // writer per upload). The destructor removes the temp file unless Finish()
  // succeeded, so an abandoned or failed upload leaves nothing behind.
  class Writer {
   public:
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    // Fails with PayloadTooLarge once more than max_bytes were appended; after
    // any failure the writer is dead and every later call fails too.
    Status Append(std::string_view bytes);
    // Fsyncs and closes the temp file; the caller then owns the StagedBlob.
    Result<StagedBlob> Finish();
    uint64_t size() const { return size_; }

   private:
    friend class BlobStore;
    Writer(int fd, std::string temp_path, uint64_t max_bytes);
    void CloseAndRemove();

    int fd_;
    std::string temp_path_;
    uint64_t max_bytes_;
    uint64_t size_ = 0;
    Sha256 hash_;
    bool finished_ = false;
    Status failure_;  // the first error; ok() while the writer is usable
  };

  Result<std::unique_ptr<Writer>> NewWriter(uint64_t max_bytes);
  // Convenience for bytes already in memory.
  Result<StagedBlob> StageBytes(std::string_view bytes);

  // Moves a staged file into its final place (rename, then fsync of the
  // directory). If the content already exists, just drops the temp file.
  // Idempotent: committing the same StagedBlob again is OK.
  Status Commit(const StagedBlob& staged);
  // Removes the temp file; ignores errors (used on error paths).
  void Discard(const StagedBlob& staged);
  // Removes the final file; a missing file is OK.
  Status Remove(const std::string& sha256);

  bool Exists(const std::string& sha256) const;
  // The final path of a blob; "" when `sha256` is not exactly 64 lowercase hex
  // characters (which also guards against path traversal).
  std::string PathFor(const std::string& sha256) const;
  // The whole blob in memory; NotFound when it does not exist.
  Result<std::string> ReadAll(const std::string& sha256) const;

  // Removes every temp file, and every final file for which is_referenced(sha)
  // is false. For start-up, before any writer exists: it would delete the temp
  // files of uploads in flight. Files it does not recognise are left alone.
  // Returns how many files were removed.
  Result<size_t> Sweep(const std::function<bool(const std::string&)>& is_referenced);

  // Bytes currently held in temp files (a directory scan; for diagnostics).
  uint64_t TempBytesInUse() const;

  const std::string& root() const { return root_; }

 private:
  explicit BlobStore(std::string root);
  // True when `path` names a file directly inside tmp_dir_ (so Commit and
  // Discard never touch anything else, whatever StagedBlob they are handed).
  bool IsTempPath(const std::string& path) const;

  std::string root_;
  std::string tmp_dir_;
};

// True when `s` is exactly 64 lowercase hex characters.
bool IsSha256Hex(std::string_view s);

}  // namespace strata::storage
