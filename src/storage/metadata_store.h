// The metadata store: the source of truth for every resource. This header is the
// interface the layers above speak to; sqlite_metadata_store.cc implements it on
// an embedded SQLite file, and a PostgreSQL implementation can slot in later.
//
// Every resource is a Record: an id, a JSON document, and a few indexed columns
// (parent, name, unique key, content hash). Every call takes a Scope (the
// organization's internal id and the namespace id), and every query is filtered
// by it: there is no call that reads across tenants.
//
// Concurrency: Read() may run on any number of threads at once; Write() calls
// are serialised (one writer, as in SQLite) and each is one transaction: every
// change made through the Writer appears whole, or not at all.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"
#include "filter/filter.h"

namespace strata::storage {

enum class Kind {
  kNamespace, kBucket, kObject, kUpload, kApiKey, kCollection, kDocument, kBatch, kTask,
  kRetriever, kExecution, kEvalDataset, kEvaluation
};

struct Scope {
  int64_t org = 0;     // the organization's internal id (never shown to clients)
  std::string ns;      // namespace id; "" for organization-level kinds
};

struct Record {
  std::string id;
  std::string parent;                 // bucket id for objects and uploads; "" otherwise
  std::optional<std::string> name;    // unique within (org, ns, parent) when set
  std::optional<std::string> ukey;    // unique within (org, ns, parent) when set (unique_key, key hash)
  std::optional<std::string> chash;   // content hash, not unique (duplicate detection)
  Json doc;                           // the resource as the API shows it (plus private fields)
};

struct SortSpec {
  std::string field;  // dotted path into doc; "" = insertion order
  bool descending = false;
};

struct ListQuery {
  std::optional<std::string> parent;       // restrict to one parent (bucket)
  const filter::Node* filter = nullptr;    // may be null
  std::string search;                      // case-insensitive substring over string values
  SortSpec sort;
  int64_t limit = 20;
  int64_t offset = 0;
  std::string cursor;                      // opaque, from a previous page's next_cursor
  bool include_total = false;
};

struct ListPage {
  std::vector<Record> records;
  std::optional<int64_t> total;
  std::string next_cursor;  // "" when this is the last page
};

struct AggregateSpec {
  std::optional<std::string> parent;
  const filter::Node* filter = nullptr;
  std::vector<std::string> group_by;  // dotted paths
  struct Op {
    std::string function;  // count|count_distinct|sum|avg|min|max
    std::string field;     // dotted path; "" for count(*)
    std::string alias;
  };
  std::vector<Op> ops;
  int64_t limit = 1000;
};

struct AggregateRow {
  Json group;   // {field: value, ...}
  Json values;  // {alias: value, ...}
};

struct BlobInfo {
  std::string sha256;
  int64_t size = 0;
  std::string mime_type;
};

// What a document contributes to the derived indexes, written in the same
// transaction as the document itself.
struct DocumentFeatures {
  std::vector<std::pair<std::string, std::vector<float>>> vectors;  // storage name -> vector
  std::string text;  // the searchable text (full-text index); "" = none
};

struct TextHit {
  std::string doc_id;
  double score = 0;  // BM25, higher is better
};

// One change of the vector feed (see Reader::VectorChangesSince).
struct VectorChange {
  enum class Op { kPut, kDelete };
  int64_t seq = 0;
  std::string doc_id;
  Op op = Op::kPut;
  // For a put whose row still exists: the vector as it is now, which may be
  // newer than this change (a later change then says so). nullopt otherwise.
  std::optional<std::vector<float>> vec;
};

// Where the vector feed stands for one (collection, vector name), read in one
// snapshot (see Reader::LastVectorChange).
struct VectorFeedState {
  int64_t last_change = 0;     // the key's latest change still in the feed; 0 when none
  int64_t head = 0;            // the latest seq handed out for any key (pruning never lowers it)
  int64_t pruned_through = 0;  // changes up to this seq may be gone (PruneVectorChanges)
};

struct VectorChangePage {
  std::vector<VectorChange> changes;  // seq ascending
  // Changes after the requested seq were pruned (Writer::PruneVectorChanges):
  // the caller cannot catch up from the feed and rebuilds from ScanVectors.
  bool truncated = false;
};

// A unit of background work in the persisted queue. `group` ties jobs together
// (for example every job of one batch tier) so the last one can tell.
struct Job {
  std::string id;
  int64_t org = 0;
  std::string ns;
  std::string type;
  std::string group;
  int attempts = 0;  // including the current run
  Json payload;
};

struct Organization {
  int64_t internal_id = 0;
  std::string organization_id;  // public "org_…"
  Json doc;
};

class Reader {
 public:
  virtual ~Reader() = default;
  // By id; when `id_or_name` is not found as an id, by name. NotFound otherwise.
  virtual Result<Record> Get(Kind kind, const Scope& scope, const std::string& id_or_name,
                             const std::optional<std::string>& parent = std::nullopt) = 0;
  virtual Result<std::optional<Record>> FindByUkey(Kind kind, const Scope& scope,
                                                   const std::string& parent,
                                                   const std::string& ukey) = 0;
  virtual Result<std::optional<Record>> FindByContentHash(Kind kind, const Scope& scope,
                                                          const std::string& parent,
                                                          const std::string& chash) = 0;
  virtual Result<ListPage> List(Kind kind, const Scope& scope, const ListQuery& query) = 0;
  virtual Result<std::vector<AggregateRow>> Aggregate(Kind kind, const Scope& scope,
                                                      const AggregateSpec& spec) = 0;
  // COUNT(*) and SUM(json path) over a kind in a scope (optionally one parent).
  virtual Result<int64_t> Count(Kind kind, const Scope& scope,
                                const std::optional<std::string>& parent) = 0;
  virtual Result<double> Sum(Kind kind, const Scope& scope, const std::optional<std::string>& parent,
                             const std::string& path) = 0;

  // Scope-free lookups used by authentication and the presigned-URL check.
  virtual Result<std::optional<Record>> FindApiKeyByHash(const std::string& key_hash,
                                                         int64_t* org) = 0;
  // By id alone, filling `scope` with the record's tenant (for presigned URLs,
  // whose signature is the credential).
  virtual Result<std::optional<Record>> FindAnyScope(Kind kind, const std::string& id, Scope* scope) = 0;
  virtual Result<std::optional<Organization>> GetOrganization(int64_t internal_id) = 0;
  virtual Result<std::optional<Organization>> FirstOrganization() = 0;
  virtual Result<std::optional<Organization>> FindOrganization(const std::string& organization_id) = 0;
  virtual Result<std::optional<BlobInfo>> GetBlob(const std::string& sha256) = 0;
  virtual Result<std::optional<std::string>> GetSetting(const std::string& key) = 0;

  // Documents (Kind::kDocument, parent = collection id) by lineage: those whose
  // root object is `root_object_id` (in any collection when `collection` is
  // empty), or those a collection made from one source (object or document).
  virtual Result<std::vector<Record>> DocumentsByRoot(const Scope& scope, const std::string& root_object_id,
                                                      const std::string& collection) = 0;
  virtual Result<std::vector<Record>> DocumentsBySource(const Scope& scope, const std::string& collection,
                                                        const std::string& source_id) = 0;
  // Named vectors of a document (storage name -> floats).
  virtual Result<std::vector<std::pair<std::string, std::vector<float>>>> GetVectors(
      const std::string& doc_id) = 0;

  // The vector change feed, which derived vector indexes (index/) catch up
  // from. Every insert into and delete from doc_vectors, by any write path,
  // adds a change with a rising seq in the same transaction (SQL triggers).
  // Keyed by collection id, unique across tenants: like GetVectors these
  // calls take no Scope, and callers resolve the collection in its scope
  // first. Because one writer commits at a time, seqs become visible in
  // order: once a reader has seen seq S, no change with seq <= S appears later.
  //
  // Up to `limit` changes of (collection, vector name) with seq > after_seq,
  // oldest first, read in one snapshot.
  virtual Result<VectorChangePage> VectorChangesSince(const std::string& collection, const std::string& name,
                                                      int64_t after_seq, int64_t limit) = 0;
  // Calls fn for every vector of (collection, vector name), in no particular
  // order, for a full rebuild. Returns a seq S such that what fn saw reflects
  // every change up to S (and maybe later ones: those are applied again,
  // which is harmless). fn's error stops the scan and is returned.
  using VectorVisitor = std::function<Status(const std::string& doc_id, const float* vec, size_t dims)>;
  virtual Result<int64_t> ScanVectors(const std::string& collection, const std::string& name,
                                      const VectorVisitor& fn) = 0;
  // Where the feed stands for (collection, vector name). A caller that has
  // applied changes through seq A has nothing to fetch when last_change <= A
  // and pruned_through <= A. Index probes only: cheap enough to call before
  // every search.
  virtual Result<VectorFeedState> LastVectorChange(const std::string& collection, const std::string& name) = 0;
  // BM25 over the documents of one collection. `match` is an FTS5 query
  // (index/fulltext.h builds it from user text).
  virtual Result<std::vector<TextHit>> SearchText(const Scope& scope, const std::string& collection,
                                                  const std::string& match, int64_t limit) = 0;
  // How many times the documents of a collection have been written (0 for
  // none): any insert, update or delete moves it.
  virtual Result<int64_t> CollectionVersion(const std::string& collection) = 0;
  // Jobs of a group that are not finished (queued or running).
  virtual Result<int64_t> CountJobs(const std::string& group) = 0;
  // A named id list of a batch (see PutIdList); empty when never stored.
  virtual Result<std::vector<std::string>> GetIdList(const std::string& owner_id, const std::string& name) = 0;
};

class Writer : public virtual Reader {
 public:
  // AlreadyExists when the id, or the name/ukey within (org, ns, parent), is
  // taken; NotFound when scope.ns names no namespace of the organization.
  virtual Status Insert(Kind kind, const Scope& scope, const Record& record) = 0;
  // Replaces by id (all columns and the doc). NotFound when absent.
  virtual Status Update(Kind kind, const Scope& scope, const Record& record) = 0;
  virtual Status Delete(Kind kind, const Scope& scope, const std::string& id) = 0;
  // Deletes every record of a kind in the scope (and parent, when given); returns their ids.
  virtual Result<std::vector<std::string>> DeleteAll(Kind kind, const Scope& scope,
                                                     const std::optional<std::string>& parent) = 0;

  // Blob references: a blob row lives while some owner (object, upload) refers to it.
  virtual Status AddBlobRef(const BlobInfo& blob, const std::string& owner_id) = 0;
  // Drops the owner's references; returns the blobs that no owner refers to any
  // more (their rows are deleted; the caller removes the files after commit).
  virtual Result<std::vector<std::string>> DropBlobRefs(const std::string& owner_id) = 0;

  virtual Result<Organization> CreateOrganization(const std::string& organization_id,
                                                  const Json& doc) = 0;
  virtual Status UpdateOrganization(const Organization& org) = 0;
  virtual Status PutSetting(const std::string& key, const std::string& value) = 0;

  // Insert, or replace the record with the same id (keeping its position in
  // insertion order). Documents use this: their ids are deterministic.
  // `doc_text`, when given, is record.doc.dump() made by the caller before
  // its transaction (the engine does, so that serialising stays out of the
  // single writer's turn).
  virtual Status Upsert(Kind kind, const Scope& scope, const Record& record,
                        const std::string* doc_text = nullptr) = 0;
  // Replaces a document's vectors and searchable text. Deleting a document
  // (Delete, DeleteAll) deletes these with it.
  virtual Status PutFeatures(const Scope& scope, const std::string& collection, const std::string& doc_id,
                             const DocumentFeatures& features) = 0;
  // Deletes the vector feed's changes with seq <= through_seq (every index
  // that matters has applied them) and remembers the mark, so that asking for
  // changes after an older seq reports VectorChangePage::truncated.
  virtual Status PruneVectorChanges(int64_t through_seq) = 0;

  // Deletes (with their features) documents a collection made from one
  // source, by the run that wrote them (_internal.metadata.run_id): those of
  // other runs (stale after a re-run), or those of this run (a failed item's
  // partial output). Returns how many.
  enum class RunMatch { kOtherRuns, kThisRun };
  virtual Result<int64_t> DeleteSourceDocuments(const Scope& scope, const std::string& collection,
                                                const std::string& source_id, const std::string& run_id,
                                                RunMatch match) = 0;

  virtual Status EnqueueJob(const Job& job) = 0;
  // The oldest queued job, now marked running (attempts + 1); nullopt when none.
  virtual Result<std::optional<Job>> ClaimJob() = 0;
  virtual Status FinishJob(const std::string& job_id) = 0;
  // Puts running jobs back in the queue (at start-up: their worker died with
  // the previous process); returns how many.
  virtual Result<int64_t> RequeueRunningJobs() = 0;
  // Drops the unfinished jobs of a group (cancel); returns how many.
  virtual Result<int64_t> DropJobs(const std::string& group) = 0;

  // Replaces a named id list of a batch: up to 100,000 ids that would make
  // the batch document (rewritten by every job) large. Deleting the batch
  // deletes its lists.
  virtual Status PutIdList(const std::string& owner_id, const std::string& name,
                           const std::vector<std::string>& ids) = 0;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;
  virtual Status Read(const std::function<Status(Reader&)>& fn) = 0;
  // One transaction: committed when fn returns Ok, rolled back otherwise.
  virtual Status Write(const std::function<Status(Writer&)>& fn) = 0;
  // Every sha256 that has a blob row (for the start-up sweep of orphan files).
  virtual Result<bool> IsBlobReferenced(const std::string& sha256) = 0;
};

// Opens (creating and migrating) the SQLite store at `path`.
Result<std::unique_ptr<MetadataStore>> OpenSqliteMetadataStore(const std::string& path);

}  // namespace strata::storage
