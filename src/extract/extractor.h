// The extractor framework: one interface every feature extractor implements.
//
// An extractor turns one source item (an object of a bucket, or a document of
// another collection) into zero or more documents. It declares what it reads
// (input types), how it is configured (a JSON Schema of parameters, with
// defaults), what it writes (an output schema and vector outputs addressed by
// feature URIs) and which of its output fields position a document within its
// source (so re-running upserts instead of duplicating).
//
// Extractors stream: Extract() hands documents to `emit` one by one, so an
// item that yields a million chunks never holds them all in memory.
#pragma once

#include <functional>
#include <istream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::extract {

class ModelRegistry;

// One value an extractor reads, resolved from its source by the engine.
struct InputValue {
  std::string name;       // the extractor's input ("text")
  Json value;             // the field's value when it is not a blob
  std::string blob_path;  // the blob file when the input is a blob ("" otherwise)
  std::string mime_type;
  int64_t size_bytes = 0;

  bool is_blob() const { return !blob_path.empty(); }
  // A stream over the input as text: the blob file's bytes, or the value when
  // it is a string (other JSON values are serialised).
  Result<std::unique_ptr<std::istream>> OpenText() const;
};

struct ExtractItem {
  std::string source_id;  // object or document id
  std::vector<InputValue> inputs;

  const InputValue* Find(const std::string& name) const {
    for (const auto& i : inputs) {
      if (i.name == name) return &i;
    }
    return nullptr;
  }
};

// Media an extractor derives from its source (a thumbnail, a keyframe, a page
// image). The engine stores the bytes in the blob store, content-addressed,
// and lists them in the document's `document_blobs` (the API's BlobURLRef),
// where reads presign them like object blobs.
struct ExtractedBlob {
  std::string field;               // stable label: "thumbnail", "keyframe", "page_image"
  std::string role = "thumbnail";  // BlobURLRef role: processed|thumbnail|artifact|aux
  std::string type = "image";      // video|image|audio|text|pdf|other
  std::string mime_type = "image/jpeg";
  std::string filename;            // "" = derived from the field and the type
  std::string bytes;
};

struct ExtractedDocument {
  Json fields = Json::object();    // outputs, written at the document root
  Json position = Json::object();  // values of the position fields (part of the id)
  std::vector<std::pair<std::string, std::vector<float>>> vectors;  // storage name -> vector
  std::string searchable_text;     // goes to the full-text index ("" = none)
  std::vector<ExtractedBlob> blobs;
  std::string modality = "text";   // _internal.modality: text|image|video|audio|pdf
};
using Emit = std::function<Status(ExtractedDocument&&)>;

// A vector (or sparse/lexical) output of an extractor: one index per
// collection, addressed by its feature URI.
struct VectorOutput {
  std::string output;        // URI output name: mixpeek://{name}@{version}/{output}
  std::string storage_name;  // field/vector name in documents: {name}_{version}_{suffix}
  std::string type = "dense";  // dense | sparse
  int dimensions = 0;          // 0 for sparse
  std::string distance = "cosine";
  std::string description;
  std::string model;  // the embedding model behind it ("" for lexical)
  std::vector<std::string> supported_inputs;
};

struct ExtractorInfo {
  std::string name;     // "text_extractor"
  std::string version;  // "v1"
  std::string description;
  std::vector<std::string> input_types;  // supported_input_types
  Json input_schema;                     // {input: {type, description, required}}
  Json parameter_schema;                 // JSON Schema (type object) with defaults
  std::vector<std::string> position_fields;
  // Parameters that fix the vector outputs (dimensions): locked by the
  // namespace that registers the extractor.
  std::vector<std::string> locked_parameters;
  // Whether documents carry media of their own (ExtractedDocument::blobs):
  // the engine then replaces their blob references on every write.
  bool emits_blobs = false;

  std::string id() const { return name + "_" + version; }  // "text_extractor_v1"
};

// An extractor bound to validated parameters, models loaded. One per job;
// it is used by one thread at a time.
class ExtractorRun {
 public:
  virtual ~ExtractorRun() = default;
  // Errors describe why this item cannot be read; the engine records them
  // against the item and goes on with the others. `emit` may already have been
  // called when an error is returned: the caller discards the item's documents.
  virtual Status Extract(const ExtractItem& item, const Emit& emit) = 0;
};

class Extractor {
 public:
  virtual ~Extractor() = default;
  virtual const ExtractorInfo& info() const = 0;
  // Output fields as BucketSchema properties, for these (resolved) parameters.
  virtual Json OutputSchema(const Json& params) const = 0;
  virtual Result<std::vector<VectorOutput>> VectorOutputs(const Json& params) const = 0;
  // Checks what the schema cannot (combinations, model availability).
  virtual Status CheckParameters(const Json& params, const std::string& loc) const { return Status::Ok(); }
  virtual Result<std::unique_ptr<ExtractorRun>> Start(const Json& params) const = 0;
};

}  // namespace strata::extract
