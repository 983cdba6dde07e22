// Full-text engine: SQLite FTS5 (what Strata uses) against Xapian, on the same
// BEIR-layout collection in the same run. Measurement only: built when Xapian
// is installed (Debian: libxapian-dev), never a dependency of the project.
//   - documents: title + " " + text (as bench/beir_bench.py sends them), one
//     per line of corpus.jsonl; queries: the judged ones of queries.jsonl;
//   - FTS5: a table like Strata's doc_text (src/storage/migrations.cc: text
//     plus an UNINDEXED column, tokenize 'porter unicode61 remove_diacritics
//     2'), Strata's pragmas (WAL, synchronous NORMAL), every row in one
//     transaction, then a checkpoint so that the index is in the database
//     file; queries as Strata builds them (storage::FtsMatchAny in
//     src/storage/fts_query.cc: the text's words, English stop words
//     out, each quoted, OR-ed), `ORDER BY bm25() LIMIT 100` (k1 1.2, b 0.75);
//   - Xapian: a WritableDatabase on disk (glass), TermGenerator with the
//     English stemmer and STEM_SOME, one commit (which fsyncs); queries through
//     QueryParser (English stemmer, STEM_SOME, default operator OR, the same
//     stop words, default flags), top 100 by BM25Weight: once with Xapian's
//     defaults (k1 1, b 0.5), once with FTS5's k1 1.2 and b 0.75. The query
//     text is lower-cased first, as FtsMatchAny does: STEM_SOME leaves words that
//     start with a capital unstemmed, and NPL's queries are all upper case;
//   - figures: index build time (to durable on disk), index size on disk (as
//     built, and after FTS5 'optimize' + VACUUM / Xapian compact), queries/s
//     on one thread (every query `--rounds` times, the fastest round counts),
//     nDCG@10 and recall@100 with bench/beir_bench.py's formulas (gain =
//     grade, log2(rank + 1) discount, ideal from the qrels; relevant = grade >
//     0), averaged over judged queries.
// Both engines get the engine-level query only: Strata's SearchText also joins
// the documents table and filters by collection and namespace.
//
// usage: strata_bench_fts [--data DIR] [--rounds 3]
//   DIR holds corpus.jsonl, queries.jsonl, qrels.tsv (default ../shared/data/npl,
//   from the repository root; see ../shared/data/README.md)
#include <sqlite3.h>
#include <xapian.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/json_util.h"
#include "filter/filter.h"
#include "storage/fts_query.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using strata::Json;

constexpr int kTop = 100;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::exit(1);
}

// ---- the collection

struct Collection {
  std::vector<std::string> ids;    // BEIR ids; position + 1 = FTS5 rowid = Xapian docid
  std::vector<std::string> texts;  // title + " " + text
  std::vector<std::pair<std::string, std::string>> queries;  // judged only: (id, text)
  std::map<std::string, std::map<std::string, int>> qrels;   // query id -> doc id -> grade
  size_t text_bytes = 0;
};

std::string IdOf(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::vector<Json> ReadJsonl(const fs::path& path) {
  std::ifstream in(path);
  if (!in) Fail("cannot open " + path.string() + " (see ../shared/data/README.md)");
  std::vector<Json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = strata::ParseJson(line);
    if (!j.ok()) Fail(path.string() + ": " + j.status().message());
    out.push_back(std::move(*j));
  }
  return out;
}

Collection Load(const fs::path& dir) {
  Collection c;
  for (const Json& d : ReadJsonl(dir / "corpus.jsonl")) {
    c.ids.push_back(IdOf(d["_id"]));
    const std::string title = strata::StringOr(d, "title"), text = strata::StringOr(d, "text");
    c.texts.push_back(title.empty() ? text : title + " " + text);
    c.text_bytes += c.texts.back().size();
  }
  std::ifstream in(dir / "qrels.tsv");
  if (!in) Fail("cannot open " + (dir / "qrels.tsv").string());
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const size_t a = line.find('\t'), b = line.find('\t', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    c.qrels[line.substr(0, a)][line.substr(a + 1, b - a - 1)] = std::stoi(line.substr(b + 1));
  }
  for (const Json& q : ReadJsonl(dir / "queries.jsonl")) {
    std::string id = IdOf(q["_id"]);
    if (c.qrels.count(id)) c.queries.emplace_back(id, strata::StringOr(q, "text"));
  }
  return c;
}

// ---- metrics (bench/beir_bench.py's ndcg_at and recall_at)

double NdcgAt10(const std::vector<std::string>& ranked, const std::map<std::string, int>& grades) {
  double dcg = 0;
  for (size_t i = 0; i < std::min<size_t>(ranked.size(), 10); ++i) {
    auto it = grades.find(ranked[i]);
    if (it != grades.end()) dcg += it->second / std::log2(double(i) + 2);
  }
  std::vector<int> ideal;
  for (const auto& [doc, g] : grades) {
    if (g > 0) ideal.push_back(g);
  }
  std::sort(ideal.rbegin(), ideal.rend());
  double idcg = 0;
  for (size_t i = 0; i < std::min<size_t>(ideal.size(), 10); ++i) idcg += ideal[i] / std::log2(double(i) + 2);
  return idcg > 0 ? dcg / idcg : 0.0;
}

double RecallAt100(const std::vector<std::string>& ranked, const std::map<std::string, int>& grades) {
  std::set<std::string> top(ranked.begin(), ranked.begin() + std::min<size_t>(ranked.size(), 100));
  size_t relevant = 0, found = 0;
  for (const auto& [doc, g] : grades) {
    if (g <= 0) continue;
    ++relevant;
    found += top.count(doc);
  }
  return relevant ? double(found) / double(relevant) : 0.0;
}

// ---- queries as Strata builds them

// ---- on-disk sizes

uint64_t SizeOf(const fs::path& p) {
  if (fs::is_regular_file(p)) return fs::file_size(p);
  uint64_t total = 0;
  if (fs::is_directory(p)) {
    for (const auto& e : fs::recursive_directory_iterator(p)) {
      if (e.is_regular_file()) total += e.file_size();
    }
  }
  return total;
}

double Mb(uint64_t bytes) { return double(bytes) / 1e6; }

// ---- SQLite

void Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = std::string(sql) + ": " + (err ? err : "?");
    sqlite3_free(err);
    Fail(msg);
  }
}

sqlite3* Open(const fs::path& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Fail("sqlite3_open " + path.string());
  // Strata's connection settings (src/storage/sqlite_db.cc).
  Exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32000;");
  return db;
}

sqlite3_stmt* Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) Fail(std::string(sql) + ": " + sqlite3_errmsg(db));
  return st;
}

// ---- one engine's run over the queries

struct Outcome {
  double ndcg = 0, recall = 0, qps = 0;
};

// `search` maps a query's text to positions in the corpus, best first.
template <typename Search>
Outcome RunQueries(const Collection& c, int rounds, Search search) {
  Outcome o;
  double best = 1e30;
  std::vector<std::vector<size_t>> results(c.queries.size());
  for (int r = 0; r < rounds; ++r) {
    auto t0 = Clock::now();
    for (size_t q = 0; q < c.queries.size(); ++q) results[q] = search(c.queries[q].second);
    best = std::min(best, Seconds(t0));
  }
  for (size_t q = 0; q < c.queries.size(); ++q) {
    std::vector<std::string> ranked;
    for (size_t pos : results[q]) ranked.push_back(c.ids[pos]);
    const auto& grades = c.qrels.at(c.queries[q].first);
    o.ndcg += NdcgAt10(ranked, grades);
    o.recall += RecallAt100(ranked, grades);
  }
  o.ndcg /= double(c.queries.size());
  o.recall /= double(c.queries.size());
  o.qps = double(c.queries.size()) / best;
  return o;
}

std::string Lower(std::string s) {
  for (char& ch : s) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path data = "../shared/data/npl";
  int rounds = 3;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) {
      data = argv[++i];
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: strata_bench_fts [--data DIR] [--rounds 3]\n");
      return 2;
    }
  }
  const Collection c = Load(data);
  std::printf("%s: %zu documents (%.1f MB of text), %zu judged queries; %s; Xapian %s\n", data.string().c_str(),
              c.ids.size(), Mb(c.text_bytes), c.queries.size(), ("SQLite " + std::string(sqlite3_libversion())).c_str(),
              Xapian::version_string());

  const fs::path dir = fs::temp_directory_path() / ("strata-fts-" + strata::RandomAlnum(8));
  fs::create_directories(dir);
  const fs::path sqlite_path = dir / "fts5.db", xapian_path = dir / "xapian";

  // ---- FTS5 build: one transaction, then a checkpoint (fsync) into the database file
  auto t0 = Clock::now();
  sqlite3* db = Open(sqlite_path);
  Exec(db, "CREATE VIRTUAL TABLE doc_text USING fts5(text, collection UNINDEXED,"
           "  tokenize = 'porter unicode61 remove_diacritics 2');");
  Exec(db, "BEGIN IMMEDIATE");
  sqlite3_stmt* ins = Prepare(db, "INSERT INTO doc_text(rowid, text, collection) VALUES (?, ?, 'col_bench')");
  for (size_t i = 0; i < c.texts.size(); ++i) {
    sqlite3_bind_int64(ins, 1, static_cast<sqlite3_int64>(i + 1));
    sqlite3_bind_text(ins, 2, c.texts[i].data(), static_cast<int>(c.texts[i].size()), SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) Fail(std::string("insert: ") + sqlite3_errmsg(db));
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  auto t_commit = Clock::now();
  Exec(db, "COMMIT");
  Exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  const double fts_build = Seconds(t0), fts_commit = Seconds(t_commit);
  const uint64_t fts_size = SizeOf(sqlite_path) + SizeOf(sqlite_path.string() + "-wal");
  // The database file holds a copy of the text (doc_text_content) beside the
  // index proper; dbstat, where SQLite has it, tells them apart.
  uint64_t fts_content = 0;
  {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT SUM(pgsize) FROM dbstat WHERE name = 'doc_text_content'", -1, &st, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      fts_content = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
    }
    sqlite3_finalize(st);
  }

  // ---- Xapian build: one commit (fsync)
  t0 = Clock::now();
  {
    Xapian::WritableDatabase wdb(xapian_path.string(), Xapian::DB_CREATE_OR_OVERWRITE);
    Xapian::TermGenerator gen;
    gen.set_stemmer(Xapian::Stem("english"));
    gen.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
    for (size_t i = 0; i < c.texts.size(); ++i) {
      Xapian::Document doc;
      gen.set_document(doc);
      gen.index_text(c.texts[i]);
      if (wdb.add_document(doc) != i + 1) Fail("xapian: unexpected docid");  // a new database numbers from 1
    }
    t_commit = Clock::now();
    wdb.commit();
  }
  const double xap_build = Seconds(t0), xap_commit = Seconds(t_commit);
  const uint64_t xap_size = SizeOf(xapian_path);

  // ---- queries
  sqlite3_stmt* q = Prepare(db, "SELECT rowid FROM doc_text WHERE doc_text MATCH ? ORDER BY bm25(doc_text) LIMIT 100");
  Outcome fts = RunQueries(c, rounds, [&](const std::string& text) {
    std::vector<size_t> out;
    const std::string match = strata::storage::FtsMatchAny(text);
    if (match.empty()) return out;
    sqlite3_bind_text(q, 1, match.data(), static_cast<int>(match.size()), SQLITE_TRANSIENT);
    while (sqlite3_step(q) == SQLITE_ROW) out.push_back(static_cast<size_t>(sqlite3_column_int64(q, 0) - 1));
    sqlite3_reset(q);
    return out;
  });
  sqlite3_finalize(q);
  // How many rows an OR query hands to bm25() and the sort (outside the timing).
  double matched = 0;
  q = Prepare(db, "SELECT count(*) FROM doc_text WHERE doc_text MATCH ?");
  for (const auto& [id, text] : c.queries) {
    const std::string match = strata::storage::FtsMatchAny(text);
    if (match.empty()) continue;
    sqlite3_bind_text(q, 1, match.data(), static_cast<int>(match.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(q) == SQLITE_ROW) matched += double(sqlite3_column_int64(q, 0));
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  matched /= double(c.queries.size());

  Xapian::Database rdb(xapian_path.string());
  Xapian::SimpleStopper stopper(strata::storage::EnglishStopWords().begin(), strata::storage::EnglishStopWords().end());
  Xapian::QueryParser parser;
  parser.set_stemmer(Xapian::Stem("english"));
  parser.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
  parser.set_default_op(Xapian::Query::OP_OR);
  parser.set_stopper(&stopper);
  parser.set_database(rdb);
  auto xapian = [&](const Xapian::Weight& weight) {
    return RunQueries(c, rounds, [&](const std::string& text) {
      std::vector<size_t> out;
      Xapian::Query query;
      try {
        query = parser.parse_query(Lower(text));
      } catch (const Xapian::QueryParserError&) {
        query = parser.parse_query(Lower(text), 0);  // no operators: the words alone
      }
      Xapian::Enquire enquire(rdb);
      enquire.set_query(query);
      enquire.set_weighting_scheme(weight);
      Xapian::MSet mset = enquire.get_mset(0, kTop);
      for (auto it = mset.begin(); it != mset.end(); ++it) out.push_back(static_cast<size_t>(*it - 1));
      return out;
    });
  };
  Outcome xap = xapian(Xapian::BM25Weight());
  Outcome xap_fts = xapian(Xapian::BM25Weight(1.2, 0, 1, 0.75, 0.5));

  // ---- compacted sizes (after the queries: those ran on the indexes as built)
  Exec(db, "INSERT INTO doc_text(doc_text) VALUES ('optimize')");
  Exec(db, "VACUUM");
  Exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db);
  const uint64_t fts_compact = SizeOf(sqlite_path) + SizeOf(sqlite_path.string() + "-wal");
  rdb.compact((dir / "xapian-compact").string());
  rdb.close();
  const uint64_t xap_compact = SizeOf(dir / "xapian-compact");
  fs::remove_all(dir);

  // ---- report
  char content_note[64] = "";
  if (fts_content) std::snprintf(content_note, sizeof(content_note), " (%.1f MB of it the text copy)", Mb(fts_content));
  std::printf("\nindex build (one thread, to durable on disk): FTS5 %.2f s (%.0f docs/s; commit + checkpoint %.2f s), "
              "Xapian %.2f s (%.0f docs/s; commit %.2f s)\n",
              fts_build, double(c.ids.size()) / fts_build, fts_commit, xap_build, double(c.ids.size()) / xap_build,
              xap_commit);
  std::printf("index size on disk, as built: FTS5 %.1f MB%s, Xapian %.1f MB\n", Mb(fts_size), content_note,
              Mb(xap_size));
  std::printf("index size on disk, compacted (FTS5 optimize + VACUUM; Xapian compact): FTS5 %.1f MB, Xapian %.1f MB\n",
              Mb(fts_compact), Mb(xap_compact));
  std::printf("\n%-44s | %8s | %10s | %10s\n", "engine (top 100, 1 thread)", "nDCG@10", "recall@100", "queries/s");
  auto row = [](const char* name, const Outcome& o) {
    std::printf("%-44s | %8.4f | %10.4f | %10.0f\n", name, o.ndcg, o.recall, o.qps);
  };
  row("FTS5 bm25() (k1 1.2, b 0.75), Strata's query", fts);
  row("Xapian BM25Weight defaults (k1 1, b 0.5)", xap);
  row("Xapian BM25Weight k1 1.2, b 0.75", xap_fts);
  std::printf("FTS5 scores and sorts every matching row: %.0f documents per query on average (%.0f%% of the corpus)\n",
              matched, 100 * matched / double(c.ids.size()));
  std::printf("Xapian / FTS5: build time %.2fx, size as built %.2fx, queries/s %.2fx\n", xap_build / fts_build,
              double(xap_size) / double(fts_size), xap.qps / fts.qps);
  return 0;
}
