#include "server/vector_searcher.h"

#include "index/index_manager.h"

namespace strata::server {

namespace {

class IndexSearcher : public retrieve::VectorSearcher {
 public:
  explicit IndexSearcher(index::IndexManager& indexes) : indexes_(indexes) {}

  Result<std::vector<retrieve::VectorHit>> Search(const std::string& collection, const std::string& name,
                                                  const std::string& distance, const std::vector<float>& query, int k,
                                                  const std::vector<std::string>* allowed) override {
    ASSIGN_OR_RETURN(index::Metric metric, index::ParseMetric(distance));
    index::SearchFilter filter{allowed, {}};
    ASSIGN_OR_RETURN(auto hits, indexes_.Search(collection, name, metric, query, static_cast<size_t>(std::max(k, 0)),
                                                allowed != nullptr ? &filter : nullptr));
    std::vector<retrieve::VectorHit> out;
    out.reserve(hits.size());
    for (auto& h : hits) out.push_back({std::move(h.doc_id), static_cast<double>(h.score)});
    return out;
  }

 private:
  index::IndexManager& indexes_;
};

}  // namespace

std::unique_ptr<retrieve::VectorSearcher> MakeVectorSearcher(index::IndexManager& indexes) {
  return std::make_unique<IndexSearcher>(indexes);
}

}  // namespace strata::server
