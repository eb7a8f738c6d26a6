//===- DummyMain.cpp - Runs a fuzz target on given inputs -----------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The main of a fuzz target built without libFuzzer (any compiler): runs
// LLVMFuzzerTestOneInput once on each file named on the command line, or on
// each file of each directory named, so that the seed corpora and the saved
// crash inputs replay as ordinary regression tests in every build.
//
//===----------------------------------------------------------------------===//

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int runFile(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    llvm::errs() << "error: cannot read '" << path
                 << "': " << buffer.getError().message() << "\n";
    return 1;
  }
  // A copy of exactly the input's bytes, so that reads past the end are
  // caught where a sanitizer is present.
  std::string bytes((*buffer)->getBuffer());
  auto *data = new uint8_t[bytes.size()];
  std::copy(bytes.begin(), bytes.end(), data);
  LLVMFuzzerTestOneInput(data, bytes.size());
  delete[] data;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    llvm::errs() << "usage: " << argv[0] << " FILE|DIR...\n";
    return 2;
  }
  unsigned count = 0;
  for (int i = 1; i < argc; ++i) {
    std::string path = argv[i];
    if (!llvm::sys::fs::is_directory(path)) {
      if (runFile(path))
        return 1;
      ++count;
      continue;
    }
    llvm::SmallVector<std::string> files;
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(path, ec), end;
         it != end && !ec; it.increment(ec))
      if (!llvm::sys::fs::is_directory(it->path()))
        files.push_back(it->path());
    if (ec) {
      llvm::errs() << "error: cannot list '" << path << "': " << ec.message()
                   << "\n";
      return 1;
    }
    std::sort(files.begin(), files.end());
    for (const std::string &file : files) {
      if (runFile(file))
        return 1;
      ++count;
    }
  }
  llvm::outs() << "ran " << count << " inputs\n";
  return 0;
}
