// IndexFiles: the files of derived indexes (vector indexes today), kept under
// <data>/indexes/. storage/ is the only layer that touches files, so index/
// serialises into a Writer and parses from a Reader and never sees a path.
//
// Crash safety: a file is written to a temporary name in the same directory,
// fsynced, renamed over the old one and the directory fsynced, so a reader
// (or the next start) finds either the whole old file or the whole new one.
// Temporary files a crash leaves behind are removed by Open.
//
// The content is the caller's: these files are derived state, and a caller
// that finds one unreadable rebuilds it from the metadata store.
//
// Concurrency: every method may be called from any thread. Writers of
// different names never interfere; two writers of the same name each produce
// a whole file, and the last Commit wins.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace strata::storage {

class IndexFiles {
 public:
  // Opens (creating when missing) <data_dir>/indexes and removes the
  // temporary files a crash left there.
  static Result<std::unique_ptr<IndexFiles>> Open(const std::string& data_dir);

  IndexFiles(const IndexFiles&) = delete;
  IndexFiles& operator=(const IndexFiles&) = delete;

  // Streams one file. The destructor removes the temporary file unless
  // Commit succeeded, so an abandoned write leaves the old file in place.
  class Writer {
   public:
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    Status Append(std::string_view bytes);
    // Flushes, fsyncs, renames over `name` and fsyncs the directory.
    Status Commit();
    uint64_t size() const { return size_; }

   private:
    friend class IndexFiles;
    Writer(int fd, std::string temp_path, std::string final_path, std::string dir);
    Status Flush();
    void CloseAndRemove();

    int fd_;
    std::string temp_path_;
    std::string final_path_;
    std::string dir_;
    std::string buffer_;  // Append is called with small pieces; write(2) in large ones
    uint64_t size_ = 0;
    bool committed_ = false;
    Status failure_;  // the first error; every later call returns it
  };

  // Reads one file from the start, sequentially.
  class Reader {
   public:
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    // Exactly n bytes into dst; a Storage error when the file ends first.
    Status Read(void* dst, size_t n);
    uint64_t size() const { return size_; }
    uint64_t remaining() const { return size_ - offset_; }

   private:
    friend class IndexFiles;
    Reader(int fd, std::string path, uint64_t size);

    int fd_;
    std::string path_;
    uint64_t size_;
    uint64_t offset_ = 0;
    std::string buffer_;
    size_t buffer_pos_ = 0;
  };

  // `name` must satisfy IsValidName (InvalidArgument-like BadRequest otherwise).
  Result<std::unique_ptr<Writer>> NewWriter(const std::string& name);
  // NotFound when the file does not exist.
  Result<std::unique_ptr<Reader>> OpenReader(const std::string& name) const;
  // Whole-file conveniences over Writer and Reader.
  Status WriteAll(const std::string& name, std::string_view bytes);
  Result<std::string> ReadAll(const std::string& name) const;
  // Removes the file; a missing file is OK.
  Status Remove(const std::string& name);
  // Names of the files whose name starts with `prefix`, sorted.
  Result<std::vector<std::string>> List(const std::string& prefix = "") const;

  // Letters, digits, '.', '_', '-', '%', at most 200 characters, not starting
  // with '.': never a path, never a temporary file's name.
  static bool IsValidName(std::string_view name);

  const std::string& dir() const { return dir_; }

 private:
  explicit IndexFiles(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
};

}  // namespace strata::storage
