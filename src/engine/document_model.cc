#include "engine/document_model.h"

#include "core/crypto.h"

namespace strata::engine {

std::string DocumentId(const std::string& source_id, const std::string& collection_id, const Json& position) {
  // nlohmann orders object keys, so the dump is canonical.
  return "doc_" + Sha256Hex(source_id + "\n" + collection_id + "\n" + position.dump()).substr(0, 24);
}

Json PublicDocument(const Json& doc) {
  Json out = doc;
  if (!out.contains("document_blobs")) {
    out["document_blobs"] = doc.contains("_internal") ? doc["_internal"].value("document_blobs", Json::array())
                                                      : Json::array();
  }
  return out;
}

}  // namespace strata::engine
