// The retrievers' nearest-neighbour searches, answered by the vector indexes
// of index/ (each caught up with the store's vector feed before it searches).
#pragma once

#include <memory>

#include "retrieve/stage.h"

namespace strata::index {
class IndexManager;
}

namespace strata::server {

// Borrows the manager, which must outlive the searcher.
std::unique_ptr<retrieve::VectorSearcher> MakeVectorSearcher(index::IndexManager& indexes);

}  // namespace strata::server
