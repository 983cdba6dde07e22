// MIME sniffing with libmagic, and the mapping between MIME types and the
// API's blob types ("text", "image", "video", "audio", "pdf", "excel").
//
// The content decides the type, not the client's word or a file extension:
// feature extractors later open the bytes with decoders chosen by this type.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace strata::ingest {

// How many leading bytes are looked at; libmagic's signatures for the formats
// we care about all sit well inside this.
inline constexpr size_t kSniffBytes = 64 * 1024;

// The MIME type of `bytes` (only the first kSniffBytes are examined), lower
// case without parameters, e.g. "image/png", "application/pdf", "text/plain".
// Empty input is "application/x-empty"; when libmagic is unusable the answer
// is "application/octet-stream". Thread-safe (one libmagic handle per thread).
std::string SniffMime(std::string_view bytes);
// Same for the first kSniffBytes of a file; "" when the file cannot be read.
std::string SniffMimeFile(const std::string& path);

// Lower case, parameters and surrounding blanks removed:
// " Text/HTML; charset=utf-8" -> "text/html".
std::string NormalizeMime(std::string_view mime);

// The blob type a MIME type naturally belongs to: image/* -> "image",
// video/* -> "video", audio/* -> "audio", application/pdf -> "pdf",
// spreadsheets (xlsx, xls, ods) -> "excel", text/* and JSON -> "text"
// (so CSV is text); "" when none fits.
std::string BlobTypeForMime(std::string_view mime);

// Whether content sniffed as `mime` may be stored as a blob of `blob_type`.
// Strict where libmagic is reliable (image/*, application/pdf), lenient where
// it is known to fall back to application/octet-stream for valid media:
//  - "text": text/*, JSON/XML/JavaScript, empty content and
//    application/octet-stream (the caller checks UTF-8 validity separately,
//    which is the real test for text);
//  - "image": image/* only; "pdf": application/pdf only;
//  - "video": video/*, application/ogg, application/mp4, octet-stream (raw or
//    partial streams, e.g. MPEG-TS not starting on a sync byte), and
//    image/gif: an animated GIF is a video without sound, and the video
//    extractors decode it as one (no other image type: a still is not a video);
//  - "audio": audio/*, and video/* too, because libmagic names a container
//    (mp4, webm, ogg) after video even when it holds only audio; ogg/mp4 and
//    octet-stream (e.g. MP3 without a frame header at the start);
//  - "excel": spreadsheet types, text/csv, application/zip (OOXML files whose
//    first zip entry libmagic does not recognise) and the OLE/CDFV2 types
//    libmagic gives legacy .xls it cannot fully parse;
//  - "json": like "text";
//  - any other blob type: true (this layer has no opinion on it).
bool MimeCompatibleWithBlobType(std::string_view mime, std::string_view blob_type);

}  // namespace strata::ingest
