// The HTTP backend: a remote provider speaking the common embeddings protocol,
// POST {url}/v1/embeddings with {"model", "input": [texts]} answered by
// {"data": [{"embedding": [...], "index": i}, ...]} (OpenAI's shape, which
// TEI, Ollama, vLLM and LocalAI serve too).
//
// config.json (or the registry's config object):
//   backend          "http"
//   url              the base URL, e.g. "http://127.0.0.1:8081" (a base that
//                    already ends in /v1 gets only /embeddings appended)
//   model            the provider's model name
//   dimensions       the vector size the provider returns (checked)
//   api_key_env      name of an environment variable holding an API key, sent
//                    as "Authorization: Bearer <key>"; read once at load
//   timeout_seconds  per request (default 30)
//   max_batch        texts per request (default 64)
//   query_prefix     prepended to queries (default "")
//   passage_prefix   prepended to passages (default "")
//
// Errors: no answer (connection refused, DNS, timeout) and HTTP 408, 429 and
// 5xx are Unavailable (503: the upstream is down or busy; retrying later may
// work); other non-2xx answers and malformed bodies are Internal, with the
// status and the start of the body. Messages name the provider's host, never
// the key.
#pragma once

#include <memory>
#include <string>

#include "core/json_util.h"
#include "core/status.h"
#include "extract/models/embedder.h"

namespace strata::extract {

Result<std::unique_ptr<Embedder>> MakeHttpEmbedder(const std::string& name, const Json& config);

}  // namespace strata::extract
