// Small POSIX file helpers shared by the stores that write files themselves
// (the blob store and the index files): whole writes and durable renames.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace strata::storage {

// Status::Storage("<what> <path>: <strerror(err)>").
Status ErrnoStatus(const std::string& what, const std::string& path, int err);

// write(2) may write less than asked, or be interrupted by a signal: retries
// until every byte is written.
Status WriteAll(int fd, std::string_view bytes, const std::string& path);

// A rename or a new directory entry is only durable once the directory that
// holds it is fsynced.
Status FsyncDir(const std::string& dir);

}  // namespace strata::storage
