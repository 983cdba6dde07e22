// Presigned uploads (namespaced JSON routes) and the two presigned targets
// Strata serves itself: the upload PUT and the blob GET. The targets take no
// API key: the HMAC signature in the URL is the credential.
#include <httplib.h>

#include <fstream>
#include <memory>

#include "core/time_util.h"
#include "ingest/presign.h"
#include "ingest/uploads.h"
#include "server/error_envelope.h"
#include "server/http_server.h"

namespace strata::server {

namespace {

ingest::UploadContext Uploads(Context& c, ingest::ObjectContext& objects) {
  return ingest::UploadContext{objects, c.svc.signing_key, c.svc.public_url, c.svc.config.max_upload_bytes};
}


Status CheckSignature(const Services& svc, const httplib::Request& req, const std::string& method) {
  return ingest::VerifyPresigned(svc.signing_key, method, req.path, req.get_param_value("expires"),
                                 req.get_param_value("signature"), NowUnixSeconds());
}

}  // namespace

std::vector<Route> UploadRoutes() {
  const std::string uploads = "/v1/buckets/{bucket_identifier}/uploads";
  const std::string one = uploads + "/{upload_id}";
  return {
      {"POST", uploads, Access::kWrite, true,
       [](Context& c) {
         auto o = c.Objects();
         auto u = Uploads(c, o);
         return ingest::CreateUpload(u, c.Param(1), c.body);
       }},
      {"POST", uploads + "/batch", Access::kWrite, true,
       [](Context& c) {
         auto o = c.Objects();
         auto u = Uploads(c, o);
         return ingest::CreateUploadsBatch(u, c.Param(1), c.body);
       }},
      {"POST", uploads + "/list", Access::kRead, true,
       [](Context& c) {
         auto o = c.Objects();
         auto u = Uploads(c, o);
         return ingest::ListUploads(u, c.Param(1), c.body, c.Query());
       }},
      {"GET", one, Access::kRead, true,
       [](Context& c) {
         auto o = c.Objects();
         auto u = Uploads(c, o);
         return ingest::GetUpload(u, c.Param(1), c.Param(2), c.QueryFlag("return_presigned_urls", true));
       }},
      {"DELETE", one, Access::kDelete, true,
       [](Context& c) {
         auto o = c.Objects();
         auto u = Uploads(c, o);
         return ingest::DeleteUpload(u, c.Param(1), c.Param(2));
       }},
      {"POST", one + "/confirm", Access::kWrite, true,
       [](Context& c) -> Result<Json> {
         if (c.QueryFlag("async")) {
           return Status::Invalid("query.async", "confirmation is synchronous here; omit async", "not_enabled");
         }
         auto o = c.Objects();
         auto u = Uploads(c, o);
         return ingest::ConfirmUpload(u, c.Param(1), c.Param(2), c.body);
       }},
  };
}

void InstallPresignedTargets(httplib::Server& http, Services& svc) {
  Services* s = &svc;
  http.Put(R"(/v1/uploads/([^/]+)/content)",
           [s](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
             Status sig = CheckSignature(*s, req, "PUT");
             if (!sig.ok()) return SendError(res, sig);
             auto out = ingest::ReceiveUpload(
                 *s->store, *s->blobs, req.matches[1], s->config.max_upload_bytes,
                 [&](const std::function<Status(std::string_view)>& sink) -> Status {
                   Status inner;
                   bool ok = reader([&](const char* data, size_t n) {
                     inner = sink(std::string_view(data, n));
                     return inner.ok();
                   });
                   if (!inner.ok()) return inner;
                   if (!ok) return Status::BadRequest("the upload body ended early");
                   return Status::Ok();
                 });
             if (!out.ok()) return SendError(res, out.status());
             res.set_header("ETag", (*out)["etag"].get<std::string>());
             SendJson(res, 200, *out);
           });
  http.Get(R"(/v1/blobs/([0-9a-f]{64}))", [s](const httplib::Request& req, httplib::Response& res) {
    Status sig = CheckSignature(*s, req, "GET");
    if (!sig.ok()) return SendError(res, sig);
    auto info = ingest::FindBlob(*s->store, req.matches[1]);
    if (!info.ok()) return SendError(res, info.status());
    auto file = std::make_shared<std::ifstream>(s->blob_store->PathFor(info->sha256), std::ios::binary);
    if (!*file) return SendError(res, Status::Storage("blob file is missing"));
    res.set_header("ETag", "\"" + info->sha256 + "\"");
    res.set_content_provider(
        static_cast<size_t>(info->size), info->mime_type,
        [file](size_t offset, size_t length, httplib::DataSink& sink) {
          std::vector<char> buf(std::min<size_t>(length, 1 << 20));
          file->seekg(static_cast<std::streamoff>(offset));
          file->read(buf.data(), static_cast<std::streamsize>(buf.size()));
          std::streamsize got = file->gcount();
          if (got <= 0) return false;
          sink.write(buf.data(), static_cast<size_t>(got));
          return true;
        });
  });
}

}  // namespace strata::server
