// How a text query becomes an FTS5 MATCH expression for BM25 search, shared by
// the retriever's feature_search and the full-text benchmark.
#pragma once

#include <set>
#include <string>

namespace strata::storage {

// English stop words (Lucene's default set, which Elasticsearch's english
// analyzer uses). Their BM25 weight is near zero, but their posting lists are
// the longest in the index: leaving them out keeps a query's cost to the
// words that rank.
const std::set<std::string>& EnglishStopWords();

// An FTS5 query matching any of the text's words (filter::TextTokens) but
// stop words (all of them when the text is nothing else); BM25 ranks by how
// many match and how rare they are. Each word is quoted so user text cannot
// inject FTS5 syntax. Empty when the text has no words.
std::string FtsMatchAny(const std::string& text);

}  // namespace strata::storage
