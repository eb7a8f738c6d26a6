//===- sha256.h - SHA-256 for artifact checksums ----------------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// FIPS 180-4 SHA-256, written here so that the runtime needs no crypto
// library. It detects corrupt or mixed-up artifact files; it does not make an
// artifact trustworthy (anyone who can edit a file can edit the manifest).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_LIB_SHA256_H
#define ATTN_RUNTIME_LIB_SHA256_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace attn::rt {

class Sha256 {
public:
  Sha256();
  void update(const void *data, size_t size);
  /// The digest as 64 lowercase hex digits. Finishes the hash: call once.
  std::string hexDigest();

  static std::string hex(const void *data, size_t size) {
    Sha256 h;
    h.update(data, size);
    return h.hexDigest();
  }

private:
  void block(const uint8_t *p);

  uint32_t state[8];
  uint8_t buffer[64];
  size_t buffered = 0;
  uint64_t totalBytes = 0;
};

} // namespace attn::rt

#endif // ATTN_RUNTIME_LIB_SHA256_H
