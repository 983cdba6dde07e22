// A bucket's typed, closed schema (Mixpeek v0.81 `bucket_schema`), its
// `unique_key`, and the validation of an object's metadata and blobs against
// them. Every function reports all problems of a request at once (one
// ValidationError listing each with its location), never just the first.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::catalog {

// The 6 blob (file) field types: text image audio video pdf excel. Such fields
// are filled by an object's `blobs[]`, never by metadata values.
bool IsBlobFieldType(std::string_view type);
// The 9 metadata field types: string number integer float boolean object array
// date datetime.
bool IsMetadataFieldType(std::string_view type);

// Validates a `bucket_schema` ({"properties": {<name>: field}}) and returns it
// normalised: every field has "type" and "required"; optional keys sent as null
// (as typed SDKs do) are dropped. A field is {type, required, default,
// description, enum, examples, items (array), properties (object)}; unknown
// keys are errors, enum values and default must match the type, a default must
// be in the enum when both are given, items/properties nest to depth 8, and
// blob fields are top-level only and cannot have enum/default/items/properties.
// Top-level names: 1-128 of [A-Za-z0-9_-], not starting with '_' and not an
// object's own key (object_id, blobs, metadata, ...). `location` prefixes every
// error location, e.g. "body.bucket_schema".
Result<Json> ValidateBucketSchema(const Json& schema, std::string_view location);

// Validates a `unique_key` {fields: [1-8 distinct metadata fields of the
// schema], default_policy?: insert|update|upsert} against a normalised schema.
Status ValidateUniqueKey(const Json& unique_key, const Json& normalised_schema, std::string_view location);

struct ObjectFields {
  Json metadata = Json::object();  // validated metadata values, defaults applied
};

// Validates an object against a normalised schema. `metadata` is the union of
// the request's top-level non-reserved keys and its `metadata` object (the
// caller builds it); the schema is closed, so a key it does not declare is an
// error. Checks types (recursively through object properties and array items),
// enum membership, required fields (null counts as absent) and applies
// defaults; integral numbers given for integer fields are stored as integers.
// `blob_properties` holds (property, declared type) of each blob in request
// order: each must name a blob field of the same type, and every required blob
// field needs one. Error locations: "body.<field>", "body.<field>.<sub>",
// "body.<field>[i]", "body.blobs[i].property", "body.blobs[i].type"; types:
// missing, type_error, enum, unknown_field, blob_type_mismatch.
Result<ObjectFields> ValidateObject(const Json& normalised_schema, const Json& metadata,
                                    const std::vector<std::pair<std::string, std::string>>& blob_properties);

// The unique-key value of validated metadata: the JSON array of the values of
// `unique_key.fields`, in that order, dumped. Numbers are canonical (1.0 and 1
// give the same key) and object keys sorted, so equal values give equal keys.
// A field absent or null is Status::Invalid("body.<field>", "unique key field
// missing", "missing").
Result<std::string> UniqueKeyValue(const Json& unique_key, const Json& metadata);

}  // namespace strata::catalog
