#include "engine/processor.h"

#include <optional>

#include "catalog/collections.h"
#include "core/crypto.h"
#include "core/time_util.h"
#include "engine/batch_state.h"
#include "engine/document_model.h"
#include "engine/engine.h"
#include "engine/tasks.h"
#include "filter/eval.h"

namespace strata::engine {

using storage::Kind;
using storage::Record;
using storage::Scope;

namespace {

// Runs of one job that may end with the process before it gives up on it.
constexpr int kMaxJobAttempts = 3;

struct Pending {
  Record record;
  storage::DocumentFeatures features;
  std::string doc_text;  // record.doc serialised, before the write transaction
  std::vector<storage::BlobInfo> blobs;  // the document's own media, already in the blob store
};

// One source item: an object, or a document of the source collection.
struct SourceItem {
  std::string id;
  Json doc;  // the fields filters, mappings and passthrough read
  bool is_object = false;
  std::string root_object_id, root_bucket_id;
  Json lineage;  // the source document's lineage (collection sources)
};

class JobRunner {
 public:
  JobRunner(Engine& engine, const storage::Job& job)
      : engine_(engine), job_(job), scope_{job.org, job.ns},
        batch_id_(job.payload["batch_id"]), collection_id_(job.payload["collection_id"]),
        run_id_(job.payload["run_id"]), tier_(job.payload["tier"]) {
    outcome_.tier = tier_;
    outcome_.collection_id = collection_id_;
  }

  Status Run() {
    // Whether the batch is still live is checked by the job's last
    // transaction (a cancel drops queued jobs; a running one finds out there).
    RETURN_IF_ERROR(MarkRunning());
    if (job_.attempts > kMaxJobAttempts) {
      // Each earlier attempt ended with the process (a crash or a kill
      // mid-job): do not let one poisonous job take the server down forever.
      return FailAll(Status::Internal("the job was interrupted " + std::to_string(job_.attempts - 1) +
                                      " times (the server stopped while running it); retry the batch to run it again"),
                     "engine");
    }
    RETURN_IF_ERROR(engine_.store().Read([&](storage::Reader& r) -> Status {
      auto col = r.Get(Kind::kCollection, scope_, collection_id_);
      if (col.ok()) collection_ = col->doc;
      else if (col.status().code() != StatusCode::kNotFound) return col.status();
      return Status::Ok();
    }));
    if (collection_.is_null()) return FailAll(Status::NotFound("collection " + collection_id_ + " was deleted"), "engine");
    RETURN_IF_ERROR(Prepare());
    if (!run_) return FailAll(start_error_, "model");
    ASSIGN_OR_RETURN(auto sources, LoadItems());
    for (auto& [object_id, items] : sources) {
      if (engine_.stopping()) return Status::Ok();  // left running: the next start re-runs the job
      if (!items.ok()) {
        if (items.status().code() != StatusCode::kNotFound) return items.status();
        outcome_.errors.push_back(ErrorDetail(Status::NotFound("object " + object_id + " no longer exists"),
                                              "engine", object_id, object_id, collection_id_, tier_));
        continue;
      }
      outcome_.fetched += static_cast<int64_t>(items->size());
      for (const auto& item : *items) RETURN_IF_ERROR(ProcessItem(item));
    }
    return Finish(/*record=*/true);
  }

 private:
  Status MarkRunning() {
    return engine_.store().Write([&](storage::Writer& w) -> Status {
      auto rec = w.Get(Kind::kBatch, scope_, batch_id_);
      if (!rec.ok()) return rec.status().code() == StatusCode::kNotFound ? Status::Ok() : rec.status();
      if (IsTerminalStatus(rec->doc.value("status", ""))) return Status::Ok();
      ASSIGN_OR_RETURN(bool changed, engine::MarkRunning(w, scope_, rec->doc, tier_));
      return changed ? w.Update(Kind::kBatch, scope_, *rec) : Status::Ok();
    });
  }

  Status Prepare() {
    const Json& fe = collection_["feature_extractor"];
    outcome_.extractor_type = fe["feature_extractor_id"];
    extractor_ = engine_.extractors().Find(fe["feature_extractor_name"], fe["version"]);
    if (extractor_ == nullptr) {
      start_error_ = Status::Unavailable("extractor " + outcome_.extractor_type + " is not available");
      return Status::Ok();
    }
    auto run = extractor_->Start(fe["parameters"]);
    if (!run.ok()) {
      start_error_ = Status::Unavailable(run.status().message());
      return Status::Ok();
    }
    run_ = std::move(run).value();
    mappings_ = catalog::InputMappingsOf(collection_);
    const Json& sf = collection_["source"].value("source_filters", Json());
    if (sf.is_object() && sf.contains("filters") && !sf["filters"].is_null()) {
      auto f = filter::Parse(sf["filters"], "source_filters");
      if (f.ok()) filter_ = std::move(f).value();
    }
    config_hash_ = Sha256Hex(fe.dump()).substr(0, 16);
    return Status::Ok();
  }

  // The source items of each object of the job, read in one transaction:
  // the object itself (bucket source), or the documents the source
  // collections made from it. NotFound for an object deleted since.
  using ObjectItems = std::pair<std::string, Result<std::vector<SourceItem>>>;
  Result<std::vector<ObjectItems>> LoadItems() {
    std::vector<ObjectItems> out;
    const bool from_bucket = collection_["source"].value("type", "") == "bucket";
    const Json sources = collection_["source"].value("collection_ids", Json::array());
    Status st = engine_.store().Read([&](storage::Reader& r) -> Status {
      for (const auto& oid : job_.payload["object_ids"]) {
        const std::string object_id = oid;
        std::vector<SourceItem> items;
        if (from_bucket) {
          auto obj = r.Get(Kind::kObject, scope_, object_id);
          if (!obj.ok()) {
            if (obj.status().code() != StatusCode::kNotFound) return obj.status();
            out.emplace_back(object_id, obj.status());
            continue;
          }
          items.push_back({obj->id, std::move(obj->doc), true, obj->id, obj->parent, Json()});
        }
        for (const auto& src : from_bucket ? Json::array() : sources) {
          ASSIGN_OR_RETURN(auto docs, r.DocumentsByRoot(scope_, object_id, src.get<std::string>()));
          for (auto& d : docs) {
            const Json& lin = d.doc["_internal"]["lineage"];
            items.push_back({d.id, d.doc, false, object_id, lin.value("root_bucket_id", ""), lin});
          }
        }
        out.emplace_back(object_id, std::move(items));
      }
      return Status::Ok();
    });
    if (!st.ok()) return st;
    return out;
  }

  // The value of `path` in a source item: an object's blob property, or a field.
  std::optional<extract::InputValue> Resolve(const SourceItem& item, const std::string& input, const std::string& path) {
    extract::InputValue v;
    v.name = input;
    if (item.is_object) {
      for (const auto& b : item.doc.value("blobs", Json::array())) {
        if (b.value("property", "") != path) continue;
        const Json& d = b["details"];
        v.blob_path = engine_.blobs().PathFor(d["hash"]);
        v.mime_type = d.value("mime_type", "");
        v.size_bytes = d.value("size_bytes", int64_t{0});
        return v;
      }
    }
    if (!item.is_object) {
      // A document's own media (a scene's keyframe, a page image), named by
      // its field ("thumbnail") or as "document_blobs.thumbnail": a tier-2
      // collection reads them like an object's blob.
      const std::string field = path.rfind("document_blobs.", 0) == 0 ? path.substr(15) : path;
      const Json* blobs = FindPath(item.doc, "_internal.document_blobs");
      for (const auto& b : blobs != nullptr && blobs->is_array() ? *blobs : Json::array()) {
        const std::string checksum = b.value("checksum", "");
        if (b.value("field", "") != field || checksum.rfind("sha256:", 0) != 0) continue;
        v.blob_path = engine_.blobs().PathFor(checksum.substr(7));
        if (v.blob_path.empty()) continue;
        v.mime_type = b.value("content_type", "");
        v.size_bytes = b.value("size_bytes", int64_t{0});
        return v;
      }
    }
    const Json* found = FindPath(item.doc, path);
    if (found == nullptr || found->is_null()) return std::nullopt;
    v.value = *found;
    return v;
  }

  Status ProcessItem(const SourceItem& item) {
    if (filter_ && !filter::Matches(*filter_, item.doc)) return Status::Ok();
    ++outcome_.after_filter;
    extract::ExtractItem ex{item.id, {}};
    for (const auto& m : mappings_) {
      if (m.source_type == "literal") {
        ex.inputs.push_back({m.input, m.value, "", "", 0});
        continue;
      }
      auto v = Resolve(item, m.input, m.path);
      if (!v) {
        ++outcome_.missing_inputs;
        Fail(item, Status::Invalid("inputs." + m.input, "the source has no value at '" + m.path + "' (mapped to input '" +
                                                            m.input + "')", "missing"));
        return Status::Ok();
      }
      ex.inputs.push_back(std::move(*v));
    }
    Json base = Json::object();
    if (collection_["feature_extractor"].value("include_all_source_fields", false)) {
      for (auto it = item.doc.begin(); it != item.doc.end(); ++it) {
        if (it.key() == "_internal" || it.key() == "blobs" || it.key() == "document_id" || it.key() == "collection_id") continue;
        base[it.key()] = it.value();
      }
    }
    for (const auto& p : collection_["feature_extractor"]["field_passthrough"]) {
      const Json* v = FindPath(item.doc, p["source_path"].get<std::string>());
      const std::string target = p["target_path"].is_string() ? p["target_path"] : p["source_path"];
      if (v != nullptr && !v->is_null()) {
        SetPath(base, target, *v);
      } else if (!p["default"].is_null()) {
        SetPath(base, target, p["default"]);
      } else if (p.value("required", false)) {
        ++outcome_.missing_inputs;
        Fail(item, Status::Invalid("field_passthrough", "required field '" + p["source_path"].get<std::string>() +
                                                            "' is missing from the source", "missing"));
        return Status::Ok();
      }
    }
    ++outcome_.submitted;
    size_t mark = pending_.size();  // this item's documents are pending_[mark..]
    bool flushed_part = false;
    Status st = run_->Extract(ex, [&](extract::ExtractedDocument&& d) -> Status {
      ASSIGN_OR_RETURN(Pending p, Build(item, base, std::move(d)));
      pending_.push_back(std::move(p));
      if (static_cast<int>(pending_.size()) < engine_.options().documents_per_flush) return Status::Ok();
      flushed_part = true;
      mark = 0;
      return Flush();
    });
    if (!st.ok()) {
      if (st.code() == StatusCode::kStorage) return st;
      pending_.resize(std::min(mark, pending_.size()));
      if (flushed_part) partial_.push_back(item.id);  // its flushed documents are removed at the end
      Fail(item, st);
      return Status::Ok();
    }
    completed_.push_back(item.id);
    return Status::Ok();
  }

  // Puts a document's media in the blob store and describes them as the API's
  // BlobURLRef. The files land before the document's transaction: if that
  // transaction never commits, nothing refers to them and the start-up sweep
  // removes them.
  Status StoreBlobs(const std::string& doc_id, std::vector<extract::ExtractedBlob>& blobs, Json& refs,
                    std::vector<storage::BlobInfo>& infos) {
    const std::string now = NowIso8601();
    for (auto& b : blobs) {
      auto staged = engine_.blobs().StageBytes(b.bytes);
      if (!staged.ok()) return Status::Storage(staged.status().message());
      Status committed = engine_.blobs().Commit(*staged);
      if (!committed.ok()) {
        engine_.blobs().Discard(*staged);
        return Status::Storage(committed.message());
      }
      infos.push_back({staged->sha256, static_cast<int64_t>(staged->size), b.mime_type});
      std::string filename = b.filename;
      if (filename.empty()) {
        const size_t slash = b.mime_type.find('/');
        filename = doc_id + "_" + b.field + "." + (slash == std::string::npos ? "bin" : b.mime_type.substr(slash + 1));
      }
      refs.push_back({{"field", b.field},
                      {"role", b.role},
                      {"type", b.type},
                      {"url", "/v1/blobs/" + staged->sha256},
                      {"filename", filename},
                      {"size_bytes", static_cast<int64_t>(staged->size)},
                      {"content_type", b.mime_type},
                      {"checksum", "sha256:" + staged->sha256},
                      {"created_at", now},
                      {"source_blob_id", nullptr}});
      std::string().swap(b.bytes);  // the bytes are on disk now
    }
    return Status::Ok();
  }

  Result<Pending> Build(const SourceItem& item, const Json& base, extract::ExtractedDocument&& d) {
    const std::string id = DocumentId(item.id, collection_id_, d.position);
    const std::string now = NowIso8601();
    Json doc = base;
    doc.update(d.fields);
    doc["document_id"] = id;
    doc["collection_id"] = collection_id_;
    Json chain = item.is_object ? Json::array() : item.lineage.value("chain", Json::array());
    chain.push_back({{"collection_id", collection_id_}, {"feature_extractor_id", outcome_.extractor_type},
                     {"document_id", id}, {"timestamp", now}});
    const std::string path = item.is_object ? item.root_bucket_id + "/" + collection_id_
                                            : item.lineage.value("path", item.root_bucket_id) + "/" + collection_id_;
    Json lineage = {{"root_object_id", item.root_object_id},
                    {"root_bucket_id", item.root_bucket_id},
                    {"source_type", item.is_object ? "bucket" : "collection"},
                    {"source_object_id", item.root_object_id},
                    {"source_document_id", item.is_object ? Json(nullptr) : Json(item.id)},
                    {"source_collection_id", item.is_object ? Json(nullptr) : Json(item.doc.value("collection_id", ""))},
                    {"source_id", item.id},
                    {"path", path},
                    {"chain", chain}};
    Json source_blobs = Json::array();
    if (item.is_object) {
      for (const auto& b : item.doc.value("blobs", Json::array())) source_blobs.push_back(b);
    }
    doc["_internal"] = {{"document_id", id},
                        {"collection_id", collection_id_},
                        {"namespace_id", scope_.ns},
                        {"created_at", now},
                        {"updated_at", now},
                        {"lineage", lineage},
                        {"source_blobs", source_blobs},
                        {"document_blobs", Json::array()},
                        {"modality", d.modality},
                        {"metadata", {{"ingestion_status", "COMPLETED"},
                                      {"feature_extractor_config_hash", config_hash_},
                                      {"run_id", run_id_},
                                      {"batch_id", batch_id_}}},
                        {"content_hash", Sha256Hex(d.fields.dump())},
                        {"mime_type", "application/json"},
                        {"size_bytes", static_cast<int64_t>(d.searchable_text.size())}};
    Pending p{Record{id, collection_id_, std::nullopt, std::nullopt, std::nullopt, std::move(doc)}, {}, {}, {}};
    if (!d.blobs.empty()) {
      Json& refs = p.record.doc["_internal"]["document_blobs"];
      RETURN_IF_ERROR(StoreBlobs(id, d.blobs, refs, p.blobs));
    }
    p.doc_text = p.record.doc.dump();
    p.features.vectors = std::move(d.vectors);
    p.features.text = std::move(d.searchable_text);
    return p;
  }

  void Fail(const SourceItem& item, const Status& st) {
    outcome_.errors.push_back(ErrorDetail(st, outcome_.extractor_type, item.id, item.root_object_id,
                                          collection_id_, tier_));
  }

  Status WritePending(storage::Writer& w) {
    for (const auto& p : pending_) {
      RETURN_IF_ERROR(w.Upsert(Kind::kDocument, scope_, p.record, &p.doc_text));
      RETURN_IF_ERROR(w.PutFeatures(scope_, collection_id_, p.record.id, p.features));
      // A re-run replaces the document's media: its old references go first.
      if (extractor_->info().emits_blobs) RETURN_IF_ERROR(w.DropBlobRefs(p.record.id).status());
      for (const auto& b : p.blobs) RETURN_IF_ERROR(w.AddBlobRef(b, p.record.id));
    }
    outcome_.written += static_cast<int64_t>(pending_.size());
    return Status::Ok();
  }

  // Writes the documents gathered so far (an item's output larger than a flush).
  Status Flush() {
    Status st = engine_.store().Write([&](storage::Writer& w) { return WritePending(w); });
    if (!st.ok()) return Status::Storage(st.message());
    pending_.clear();
    return Status::Ok();
  }

  Status FailAll(const Status& st, const std::string& component) {
    for (const auto& oid : job_.payload["object_ids"]) {
      outcome_.errors.push_back(ErrorDetail(st, component, oid, oid, collection_id_, tier_));
    }
    outcome_.job_failed = true;
    return Finish(true);
  }

  // The job's last transaction: its remaining documents, the cleanup of what
  // earlier runs left, its counters, and its own removal from the queue.
  Status Finish(bool record) {
    return engine_.store().Write([&](storage::Writer& w) -> Status {
      RETURN_IF_ERROR(w.FinishJob(job_.id));
      if (!record) return Status::Ok();
      auto rec = w.Get(Kind::kBatch, scope_, batch_id_);
      if (!rec.ok()) return rec.status().code() == StatusCode::kNotFound ? Status::Ok() : rec.status();
      if (IsTerminalStatus(rec->doc.value("status", ""))) return Status::Ok();  // canceled meanwhile
      RETURN_IF_ERROR(WritePending(w));
      for (const auto& source : completed_) {
        RETURN_IF_ERROR(w.DeleteSourceDocuments(scope_, collection_id_, source, run_id_,
                                                storage::Writer::RunMatch::kOtherRuns).status());
      }
      for (const auto& source : partial_) {
        RETURN_IF_ERROR(w.DeleteSourceDocuments(scope_, collection_id_, source, run_id_,
                                                storage::Writer::RunMatch::kThisRun).status());
      }
      Json& batch = rec->doc;
      RETURN_IF_ERROR(RecordOutcome(batch, outcome_));
      ASSIGN_OR_RETURN(int64_t left, w.CountJobs(TierGroup(batch_id_, tier_)));
      if (left == 0) RETURN_IF_ERROR(FinishTier(w, scope_, batch, tier_, engine_.options().objects_per_job));
      batch["updated_at"] = NowIso8601();
      return w.Update(Kind::kBatch, scope_, *rec);
    });
  }

  Engine& engine_;
  const storage::Job& job_;
  Scope scope_;
  std::string batch_id_, collection_id_, run_id_;
  int tier_;
  Json collection_;
  const extract::Extractor* extractor_ = nullptr;
  std::unique_ptr<extract::ExtractorRun> run_;
  Status start_error_;
  std::vector<catalog::InputMapping> mappings_;
  std::optional<filter::Node> filter_;
  std::string config_hash_;
  JobOutcome outcome_;
  std::vector<Pending> pending_;
  std::vector<std::string> completed_, partial_;
};

}  // namespace

Status RunJob(Engine& engine, const storage::Job& job) {
  if (job.type != kExtractJob) {
    if (const auto* handler = engine.HandlerFor(job.type)) return (*handler)(job);
    return engine.store().Write([&](storage::Writer& w) { return w.FinishJob(job.id); });  // unknown: dropped
  }
  return JobRunner(engine, job).Run();
}

}  // namespace strata::engine
