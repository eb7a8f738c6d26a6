//===- Format.cpp - Numbers as attn prints them ---------------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Support/Format.h"

#include <charconv>
#include <cmath>

void mlir::attn::printReal(llvm::raw_ostream &os, double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, ec == std::errc() ? end : buffer);
  // MLIR float literals need a dot before any exponent.
  if (std::isfinite(value) && text.find('.') == std::string::npos) {
    size_t exponent = text.find('e');
    text.insert(exponent == std::string::npos ? text.size() : exponent, ".0");
  }
  os << text;
}

std::string mlir::attn::formatReal(double value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  printReal(os, value);
  return text;
}
