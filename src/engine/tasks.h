// Tasks: the public record of long work (TaskResponse). A task is stored at
// the organisation level (GET /v1/tasks/{id} comes without X-Namespace) and
// carries its namespace in additional_data. The engine updates a task in the
// same transaction as the work it reports on, so a task never disagrees with
// its batch.
#pragma once

#include <string>

#include "catalog/list_request.h"
#include "core/json_util.h"
#include "storage/metadata_store.h"

namespace strata::engine {

bool IsTerminalStatus(const std::string& status);

// Inserts a new PENDING task; returns its id.
Result<std::string> CreateTask(storage::Writer& w, int64_t org, const std::string& task_type,
                               const Json& additional_data);
// Sets status (and error / outputs when not null).
Status SetTaskStatus(storage::Writer& w, int64_t org, const std::string& task_id, const std::string& status,
                     const Json& error = Json(), const Json& outputs = Json());

Result<Json> GetTask(storage::MetadataStore& store, int64_t org, const std::string& task_id);
// POST /v1/tasks/list: {status, task_type, filters, sort, search}; `ns` limits
// to one namespace when not empty.
Result<Json> ListTasks(storage::MetadataStore& store, int64_t org, const std::string& ns, const Json& body,
                       const catalog::QueryParams& params);

}  // namespace strata::engine
