// Hashing, HMAC, randomness and encodings, all from OpenSSL's libcrypto.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strata {

// Incremental SHA-256 for data that arrives in pieces (uploads, URL fetches).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  std::string HexDigest();  // finishes the hash; call once

 private:
  void* ctx_;  // EVP_MD_CTX*
};

std::string Sha256Hex(std::string_view data);
std::string HmacSha256Hex(std::string_view key, std::string_view message);
// Compares in time independent of where the strings differ (for signatures).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Cryptographically random bytes from the OS CSPRNG.
std::string RandomBytes(size_t n);
// Random string over [0-9A-Za-z], n characters.
std::string RandomAlnum(size_t n);

std::string HexEncode(std::string_view bytes);
std::string Base64Encode(std::string_view bytes);
// Accepts standard and URL-safe alphabets, with or without padding, and skips
// ASCII whitespace; nullopt on any other character.
std::optional<std::string> Base64Decode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);  // no padding

}  // namespace strata
