// Runs one job of the queue: a tier's collection over a slice of a batch's
// objects. For each source item (the object itself for a bucket-fed
// collection, the object's documents in the source collection otherwise) it
// applies the collection's source filter, resolves the extractor's inputs,
// passes fields through, runs the extractor, and writes the documents with
// their lineage and features. Items fail one by one into the batch's errors.
#pragma once

#include "storage/metadata_store.h"

namespace strata::engine {

class Engine;

// Returns an error only when the job could not record its outcome.
Status RunJob(Engine& engine, const storage::Job& job);

}  // namespace strata::engine
