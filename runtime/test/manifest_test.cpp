//===- manifest_test.cpp - JSON, SHA-256 and manifest checks --------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The runtime's parsing and checking layers from the inside (the C API tests
// are in artifact_test.cpp): the JSON reader's strictness and limits,
// SHA-256 against FIPS vectors, manifest field checks, file verification
// through an in-memory FileSource, host checks against a made-up host, the
// choice of CUDA image, and this machine's CPU feature detection.
//
//===----------------------------------------------------------------------===//

#include "cuda_test_manifests.h"
#include "sparse_test_manifests.h"
#include "json.h"
#include "manifest.h"
#include "sha256.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <clocale>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

using namespace attn::rt;
using namespace attn::rt::test;

namespace {

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

json::Value parseOk(const std::string &text) {
  json::Value v;
  std::string error;
  EXPECT_TRUE(json::parse(text, v, error)) << text << ": " << error;
  return v;
}

std::string parseError(const std::string &text,
                       const json::Limits &limits = json::Limits()) {
  json::Value v;
  std::string error;
  EXPECT_FALSE(json::parse(text, v, error, limits)) << "accepted: " << text;
  return error;
}

TEST(Json, ReadsEveryKind) {
  json::Value v = parseOk(
      " {\"a\": [1, -2.5e3, 0, -0, 1E2, true, false, null, \"x\"], "
      "\"b\": {}, \"c\": [], \"d\": 9223372036854775807}\r\n");
  ASSERT_TRUE(v.isObject());
  const json::Value *a = v.find("a");
  ASSERT_TRUE(a && a->isArray());
  ASSERT_EQ(a->items.size(), 9u);
  EXPECT_TRUE(a->items[0].isInteger);
  EXPECT_EQ(a->items[0].integer, 1);
  EXPECT_FALSE(a->items[1].isInteger);
  EXPECT_EQ(a->items[1].number, -2500.0);
  EXPECT_TRUE(a->items[3].isInteger);
  EXPECT_FALSE(a->items[4].isInteger); // 1E2 has an exponent
  EXPECT_EQ(a->items[4].number, 100.0);
  EXPECT_TRUE(a->items[5].boolean);
  EXPECT_TRUE(a->items[7].isNull());
  EXPECT_EQ(a->items[8].string, "x");
  EXPECT_EQ(v.find("d")->integer, INT64_MAX);
  EXPECT_EQ(v.find("zz"), nullptr);
  // Past int64: a number, but not an exact integer.
  json::Value big = parseOk("18446744073709551616");
  EXPECT_FALSE(big.isInteger);
}

TEST(Json, DecodesStrings) {
  EXPECT_EQ(parseOk(R"("a\"b\\c\/d\b\f\n\r\t")").string,
            "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(parseOk(R"("\u00e9\u20ac\ud83d\ude00")").string,
            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(parseOk("\"\xc3\xa9\"").string, "\xc3\xa9");
  EXPECT_EQ(parseOk(R"("\u0000")").string, std::string(1, '\0'));
}

TEST(Json, RefusesWhatRfc8259Refuses) {
  const std::pair<const char *, const char *> cases[] = {
      {"", "unexpected end of text"},
      {"{", "unexpected end of text inside an object"},
      {"[1, 2", "unexpected end of text inside an array"},
      {"[1,]", "unexpected character ']'"},
      {"{\"a\": 1,}", "expected a string key"},
      {"{\"a\" 1}", "expected ':'"},
      {"{'a': 1}", "expected a string key"},
      {"[01]", "leading zero"},
      {"[1.]", "'.' not followed by digits"},
      {"[.5]", "unexpected character '.'"},
      {"[1e]", "exponent without digits"},
      {"[-]", "'-' not followed by digits"},
      {"[+1]", "unexpected character '+'"},
      {"[NaN]", "unexpected character 'N'"},
      {"[1e999]", "out of range"},
      {"[tru]", "invalid literal"},
      {"\"abc", "unexpected end of text inside a string"},
      {"\"a\tb\"", "control character 0x09"},
      {R"("\x")", "invalid escape"},
      {R"("\u12")", "four hex digits"},
      {R"("\ud800")", "lone high surrogate"},
      {R"("\udc00")", "lone low surrogate"},
      {R"("\ud800\u0041")", "not followed by a low one"},
      {"\"\xc0\xaf\"", "invalid UTF-8"},     // overlong '/'
      {"\"\xed\xa0\x80\"", "invalid UTF-8"}, // encoded surrogate
      {"\"\xf4\x90\x80\x80\"", "invalid UTF-8"}, // above U+10FFFF
      {"\"\xe2\x82\"", "invalid UTF-8"},         // truncated sequence
      {"\xef\xbb\xbf{}", "unexpected character 0xef"}, // BOM
      {"{} {}", "unexpected text after"},
      {"{\"a\": 1, \"a\": 2}", "duplicate key \"a\""},
      {"/* c */ {}", "unexpected character '/'"},
  };
  for (const auto &[text, expected] : cases) {
    std::string error = parseError(text);
    EXPECT_NE(error.find(expected), std::string::npos)
        << "input: " << text << "\nerror: " << error;
  }
  EXPECT_NE(parseError("{\n  \"a\": [1,\n   x]}").find("line 3, column 4"),
            std::string::npos);
}

TEST(Json, EnforcesLimits) {
  json::Limits limits;
  limits.maxDepth = 4;
  EXPECT_TRUE(parseOk("[[[[1]]]]").isArray());
  EXPECT_NE(parseError("[[[[[1]]]]]", limits).find("nesting deeper than 4"),
            std::string::npos);
  // The default depth stops a stack-exhausting input early.
  EXPECT_NE(parseError(std::string(100000, '[')).find("nesting deeper"),
            std::string::npos);
  limits = json::Limits();
  limits.maxBytes = 10;
  EXPECT_NE(parseError("[1, 2, 3, 4, 5]", limits).find("more than the limit"),
            std::string::npos);
  limits = json::Limits();
  limits.maxValues = 5;
  EXPECT_NE(parseError("[1, 2, 3, 4, 5]", limits).find("more than 5 values"),
            std::string::npos);
  limits = json::Limits();
  limits.maxStringBytes = 4;
  EXPECT_NE(parseError("\"abcdefgh\"", limits).find("longer than 4"),
            std::string::npos);
}

TEST(Json, NumbersIgnoreTheLocale) {
  // A host that switched LC_NUMERIC to a comma-decimal locale must read
  // manifests the same (strtod would not).
  const char *old = std::setlocale(LC_NUMERIC, nullptr);
  std::string saved = old ? old : "C";
  if (!std::setlocale(LC_NUMERIC, "de_DE.UTF-8"))
    std::setlocale(LC_NUMERIC, "fr_FR.UTF-8");
  EXPECT_EQ(parseOk("0.125").number, 0.125);
  std::setlocale(LC_NUMERIC, saved.c_str());
}

TEST(Json, Quote) {
  EXPECT_EQ(json::quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\u000a\\u0001\"");
}

//===----------------------------------------------------------------------===//
// SHA-256
//===----------------------------------------------------------------------===//

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(Sha256::hex("", 0),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::hex("abc", 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two =
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(Sha256::hex(two.data(), two.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 million;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i)
    million.update(chunk.data(), chunk.size());
  EXPECT_EQ(million.hexDigest(),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingEdgesAndChunking) {
  // Lengths around the 56-byte padding boundary and block sizes (digests
  // from Python's hashlib), fed whole and in uneven pieces.
  const std::map<size_t, std::string> expected = {
      {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
      {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
      {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
      {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
      {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
      {127, "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07"},
      {128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
      {1000,
       "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371"}};
  for (const auto &[n, digest] : expected) {
    std::string data(n, '\0');
    for (size_t i = 0; i < n; ++i)
      data[i] = static_cast<char>((i * 7 + 3) % 256);
    EXPECT_EQ(Sha256::hex(data.data(), n), digest) << n << " bytes";
    for (size_t piece : {1, 3, 17, 64, 100}) {
      Sha256 h;
      for (size_t at = 0; at < n; at += piece)
        h.update(data.data() + at, std::min(piece, n - at));
      EXPECT_EQ(h.hexDigest(), digest) << n << " bytes in pieces of " << piece;
    }
  }
}

//===----------------------------------------------------------------------===//
// Manifests
//===----------------------------------------------------------------------===//

const char *kLibraryHash =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; // "abc"

/// A small valid manifest; tests replace one piece of it.
std::string manifest(const std::string &kernelExtra = "",
                     const std::string &top = "") {
  return std::string(R"({
  "format": "attn-artifact", "version": 1, "compiler": "test",
  "target": "x86-64-v3", "table_target": "x86-64-v3",
  "host_requirements": {"arch": "x86_64", "cpu_features": ["avx2", "fma"]},
  "library": "kernels.so",
  "files": [{"path": "kernels.so", "size": 3, "sha256": ")") +
         kLibraryHash + R"("}],
  "functions": [{"name": "f",
    "inputs": [{"role": "query", "dtype": "f32", "shape": ["B", 8, "Sq", 64]},
               {"role": "key", "dtype": "f32", "shape": ["B", 2, "Skv", 64]},
               {"role": "value", "dtype": "f32", "shape": ["B", 2, "Skv", 64]},
               {"role": "gates", "dtype": "bool", "shape": ["B", 8]}],
    "outputs": [{"role": "out", "dtype": "f32", "shape": ["B", 8, "Sq", 64]}],
    "kernels": ["f_attn0"]}],
  "kernels": [{"name": "f_attn0", "symbol": "_mlir_ciface_f_attn0",
    "work_items_symbol": "f_attn0_work_items", "source": "f", "dtype": "f32",
    "head_dim": 64, "value_dim": 64, "query_heads": 8, "key_heads": 2,
    "batch": -1, "query_len": -1, "key_len": -1, "gated": true,
    "gates": "gates", "operand_args": [0, 1, 2, 3], "result_index": 0)" +
         kernelExtra + "}]" + top + "\n}";
}

Status parse(const std::string &text, Manifest &m) {
  return parseManifest(text, m);
}

void expectError(const std::string &text, attn_status code,
                 const std::string &expected) {
  Manifest m;
  Status s = parse(text, m);
  EXPECT_EQ(s.code(), code) << s.message();
  EXPECT_NE(s.message().find(expected), std::string::npos)
      << "message: " << s.message() << "\nexpected: " << expected;
}

/// `text` with the first `from` replaced by `to` (which must be there).
std::string edit(std::string text, const std::string &from,
                 const std::string &to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos)
    text.replace(at, from.size(), to);
  return text;
}

TEST(Manifest, ReadsAValidOne) {
  Manifest m;
  Status s = parse(manifest(), m);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(m.version, 1);
  EXPECT_EQ(m.tableTarget, "x86-64-v3");
  EXPECT_EQ(m.arch, "x86_64");
  EXPECT_EQ(m.cpuFeatures, (std::vector<std::string>{"avx2", "fma"}));
  ASSERT_EQ(m.functions.size(), 1u);
  const FunctionSpec &f = m.functions[0];
  ASSERT_EQ(f.inputs.size(), 4u);
  EXPECT_EQ(f.inputs[3].dtype, ATTN_DTYPE_BOOL);
  EXPECT_EQ(f.inputs[1].shape[2].symbol, "Skv");
  EXPECT_EQ(f.inputs[1].shape[1].size, 2);
  EXPECT_EQ(f.kernels, std::vector<size_t>{0});
  const KernelSpec &k = m.kernels[0];
  EXPECT_EQ(k.gates, GatesKind::Gates);
  EXPECT_EQ(k.operandArgs, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(k.workItemsSymbol, "f_attn0_work_items");
  // Unknown fields are ignored (additions within version 1).
  EXPECT_TRUE(parse(manifest(", \"pattern\": \"#attn.causal\", \"new\": [1]",
                             ", \"extra\": {\"x\": null}"),
                    m)
                  .ok());
}

TEST(Manifest, FormatAndVersionComeFirst) {
  expectError("{}", ATTN_ERROR_CORRUPT_ARTIFACT,
              "format: missing: this is not an attn artifact manifest");
  expectError(R"({"format": 1})", ATTN_ERROR_CORRUPT_ARTIFACT,
              "format: must be the string \"attn-artifact\"");
  expectError(R"({"format": "attn-artifact"})", ATTN_ERROR_CORRUPT_ARTIFACT,
              "version: missing");
  expectError(R"({"format": "attn-artifact", "version": 0})",
              ATTN_ERROR_VERSION, "version 0 is not supported");
  expectError(R"({"format": "attn-artifact", "version": 99999999999999})",
              ATTN_ERROR_VERSION, "version 99999999999999");
  expectError("[]", ATTN_ERROR_CORRUPT_ARTIFACT,
              "must hold a JSON object, found an array");
  expectError("{", ATTN_ERROR_CORRUPT_ARTIFACT, "not valid JSON: line 1");
}

TEST(Manifest, ChecksFieldsByPath) {
  const std::string good = manifest();
  expectError(edit(good, "\"head_dim\": 64", "\"head_dim\": \"64\""),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "kernels[0] (\"f_attn0\").head_dim: must be a number, found a "
              "string");
  expectError(edit(good, "\"head_dim\": 64", "\"head_dim\": 64.5"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "head_dim: must be an integer, found a non-integer number");
  expectError(edit(good, "\"head_dim\": 64", "\"head_dim\": 0"),
              ATTN_ERROR_CORRUPT_ARTIFACT, "head_dim: must be in [1, 65536]");
  expectError(edit(good, "\"key_heads\": 2", "\"key_heads\": 3"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "query_heads (8) is not a multiple of key_heads (3)");
  expectError(edit(good, "\"symbol\": \"_mlir_ciface_f_attn0\",", ""),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "kernels[0] (\"f_attn0\"): missing field \"symbol\"");
  expectError(edit(good, "\"batch\": -1", "\"batch\": 0"),
              ATTN_ERROR_CORRUPT_ARTIFACT, "batch: must be -1 (dynamic)");
  expectError(edit(good, "\"source\": \"f\", \"dtype\": \"f32\"",
                   "\"source\": \"f\", \"dtype\": \"i32\""),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "\"i32\" is not a kernel element type");
  expectError(edit(good, "\"operand_args\": [0, 1, 2, 3]",
                   "\"operand_args\": [0, 1, 2]"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "must have 4 entries (query, key, value, gates), found 3");
  expectError(edit(good, "\"operand_args\": [0, 1, 2, 3]",
                   "\"operand_args\": [0, 1, 2, -1]"),
              ATTN_ERROR_CORRUPT_ARTIFACT, "operand_args[3]: must be in [0,");
  expectError(edit(good, "\"result_index\": 0",
                   "\"result_index\": 0, \"device\": \"tpu\""),
              ATTN_ERROR_CORRUPT_ARTIFACT, "\"tpu\" is not \"cpu\" or \"cuda\"");
  expectError(edit(good, "\"shape\": [\"B\", 8]", "\"shape\": [\"B\", 0]"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "functions[0] (\"f\").inputs[3].shape[1]: must be in [1,");
  expectError(edit(good, "\"shape\": [\"B\", 8]", "\"shape\": []"),
              ATTN_ERROR_CORRUPT_ARTIFACT, "must have at least one dimension");
  expectError(edit(good, "\"shape\": [\"B\", 8]",
                   "\"shape\": [1,1,1,1,1,1,1,1,1]"),
              ATTN_ERROR_CORRUPT_ARTIFACT, "more than the limit of 8");
  expectError(edit(good, "\"dtype\": \"bool\"", "\"dtype\": \"f64\""),
              ATTN_ERROR_CORRUPT_ARTIFACT, "\"f64\" is not a dtype");
}

TEST(Manifest, ChecksFiles) {
  const std::string good = manifest();
  expectError(edit(good, "\"path\": \"kernels.so\"", "\"path\": \"/etc/x\""),
              ATTN_ERROR_CORRUPT_ARTIFACT, "\"/etc/x\" is an absolute path");
  expectError(edit(good, "\"path\": \"kernels.so\"", "\"path\": \"a//b\""),
              ATTN_ERROR_CORRUPT_ARTIFACT, "has an empty path component");
  expectError(edit(good, "\"path\": \"kernels.so\"",
                   "\"path\": \"lib/../../x\""),
              ATTN_ERROR_CORRUPT_ARTIFACT, "has a '..' component");
  expectError(edit(good, "\"path\": \"kernels.so\"", "\"path\": \"./k\""),
              ATTN_ERROR_CORRUPT_ARTIFACT, "has a '.' component");
  expectError(edit(good, "\"path\": \"kernels.so\"", "\"path\": \"a\\u0001\""),
              ATTN_ERROR_CORRUPT_ARTIFACT, "holds a control character");
  expectError(edit(good, "\"size\": 3", "\"size\": -3"),
              ATTN_ERROR_CORRUPT_ARTIFACT, "files[0].size: must be in [0,");
  expectError(edit(good, kLibraryHash, "BA7816"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "files[0].sha256: must be 64 lowercase hex digits");
  expectError(edit(good, "\"library\": \"kernels.so\"",
                   "\"library\": \"other.so\""),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "library: \"other.so\" is not listed in \"files\"");
  std::string twice = edit(good, "}],\n  \"functions\"",
                           std::string("}, {\"path\": \"kernels.so\", "
                                       "\"size\": 3, \"sha256\": \"") +
                               kLibraryHash + "\"}],\n  \"functions\"");
  expectError(twice, ATTN_ERROR_CORRUPT_ARTIFACT,
              "files[1].path: \"kernels.so\" is listed twice");
}

TEST(Manifest, ChecksCrossReferences) {
  const std::string good = manifest();
  expectError(edit(good, "\"kernels\": [\"f_attn0\"]", "\"kernels\": [\"g\"]"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "functions[0] (\"f\").kernels[0]: \"g\" is not in \"kernels\"");
  expectError(edit(good, "\"kernels\": [\"f_attn0\"]",
                   "\"kernels\": [\"f_attn0\", \"f_attn0\"]"),
              ATTN_ERROR_CORRUPT_ARTIFACT, "is listed twice");
  expectError(edit(good, "\"source\": \"f\"", "\"source\": \"g\""),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "kernel \"f_attn0\" has source \"g\", not \"f\"");
  expectError(edit(good, "\"dtype\": \"bool\"", "\"dtype\": \"i32\""),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "the gates (input 3 of \"f\") is declared i32 of rank 2; the "
              "kernel takes bool of rank 2");
  expectError(edit(good, "\"gates\": \"gates\"", "\"gates\": \"active\""),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "the active list (input 3 of \"f\") is declared bool of rank "
              "2; the kernel takes i32 of rank 1");
  expectError(edit(good, "\"result_index\": 0", "\"result_index\": 1"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "names output 1 of function \"f\", which has 1");
  expectError(edit(good, "\"outputs\": [{\"role\": \"out\", \"dtype\": \"f32\", "
                         "\"shape\": [\"B\", 8, \"Sq\", 64]}]",
                   "\"outputs\": [{\"role\": \"out\", \"dtype\": \"f32\", "
                   "\"shape\": [\"B\", 8, \"Sq\", 64]}, {\"dtype\": \"f32\", "
                   "\"shape\": [1]}]"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "outputs[1]: is written by none of the function's kernels");
  expectError(edit(good, "\"shape\": [\"B\", 2, \"Skv\", 64]",
                   "\"shape\": [\"B\", 2, \"Skv\", 32]"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "the key of \"f\" has head dim 32, the kernel was compiled for 64");
  expectError(edit(good, "\"name\": \"f\",", "\"name\": \"f\", \"x\": 1,") +
                  "",
              ATTN_OK, "");
  // A function with no kernels, a kernel no function lists.
  expectError(edit(good, "\"kernels\": [\"f_attn0\"]", "\"kernels\": []"),
              ATTN_ERROR_CORRUPT_ARTIFACT, "kernels: must not be empty");
  std::string extra = edit(
      good, "\"gates\": \"gates\", \"operand_args\": [0, 1, 2, 3], "
            "\"result_index\": 0}",
      "\"gates\": \"gates\", \"operand_args\": [0, 1, 2, 3], "
      "\"result_index\": 0}, {\"name\": \"lost\", \"symbol\": \"s\", "
      "\"work_items_symbol\": \"w\", \"source\": \"nowhere\", \"dtype\": "
      "\"f32\", \"head_dim\": 8, \"query_heads\": 1, \"key_heads\": 1, "
      "\"gated\": false, \"operand_args\": [0, 1, 2], \"result_index\": 0}");
  expectError(extra, ATTN_ERROR_CORRUPT_ARTIFACT,
              "kernel \"lost\" (source \"nowhere\") is listed by no function");
}

TEST(Manifest, LibraryAndHostAreOptionalWithoutCpuKernels) {
  // A GPU-only artifact (draft entries) needs neither.
  const std::string gpu = R"({"format": "attn-artifact", "version": 1,
    "files": [{"path": "k.ptx", "size": 3, "sha256": ")" +
                          std::string(kLibraryHash) + R"("}],
    "functions": [{"name": "f",
      "inputs": [{"dtype": "bf16", "shape": ["B", 8, "Sq", 128]},
                 {"dtype": "bf16", "shape": ["B", 8, "Skv", 128]},
                 {"dtype": "bf16", "shape": ["B", 8, "Skv", 128]}],
      "outputs": [{"dtype": "bf16", "shape": ["B", 8, "Sq", 128]}],
      "kernels": ["f_attn0"]}],
    "kernels": [{"name": "f_attn0", "device": "cuda", "source": "f",
      "dtype": "bf16", "head_dim": 128, "query_heads": 8, "key_heads": 8,
      "gated": false, "operand_args": [0, 1, 2], "result_index": 0,
      "cuda": {"entry": "f_attn0", "ptx": {"file": "k.ptx", "target": "sm_80"},
               "block": [128, 1, 1], "dynamic_shared_memory": 65536,
               "grid": {"rule": "query_tiles_x_pairs", "query_tile": 128},
               "params": []}}]})";
  Manifest m;
  Status s = parse(gpu, m);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(m.functions[0].usesCuda);
  EXPECT_FALSE(m.hasHostRequirements);
  EXPECT_EQ(m.kernels[0].cuda.dynamicSharedMemory, 65536);
  EXPECT_EQ(m.kernels[0].cuda.gridQueryTile, 128);
  expectError(edit(gpu, "\"block\": [128, 1, 1]", "\"block\": [1024, 2, 1]"),
              ATTN_ERROR_CORRUPT_ARTIFACT, "has more than 1024 threads");
  expectError(edit(gpu, "\"ptx\": {\"file\": \"k.ptx\", \"target\": \"sm_80\"}",
                   "\"binaries\": {\"sm90\": \"k.ptx\"}"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "\"sm90\" is not a chip name like \"sm_90\"");
  expectError(edit(gpu, "\"ptx\": {\"file\": \"k.ptx\", \"target\": \"sm_80\"}",
                   "\"binaries\": {}"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "has neither \"binaries\" nor \"ptx\"");
  // A CPU kernel does need them.
  expectError(edit(manifest(), "\"library\": \"kernels.so\",", ""),
              ATTN_ERROR_CORRUPT_ARTIFACT, "missing field \"library\"");
  expectError(edit(manifest(),
                   "\"host_requirements\": {\"arch\": \"x86_64\", "
                   "\"cpu_features\": [\"avx2\", \"fma\"]},",
                   ""),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "missing field \"host_requirements\"");
}

//===----------------------------------------------------------------------===//
// Gated CUDA kernels
//===----------------------------------------------------------------------===//

TEST(Manifest, ReadsGatedCudaKernels) {
  Manifest m;
  Status s = parse(cudaManifest("gates"), m);
  ASSERT_TRUE(s.ok()) << s.message();
  const KernelSpec &g = m.kernels[0];
  EXPECT_EQ(g.gates, GatesKind::Gates);
  EXPECT_EQ(g.cuda.gridRule, kGridQueryTilesXPairs);
  ASSERT_EQ(g.cuda.params.size(), 22u);
  const CudaParam &ptr = g.cuda.params[19], &s0 = g.cuda.params[20],
                  &s1 = g.cuda.params[21];
  EXPECT_EQ(ptr.source, CudaParam::Source::Tensor);
  EXPECT_EQ(ptr.tensor, "gates");
  EXPECT_EQ(ptr.type, CudaParam::Type::Ptr);
  EXPECT_EQ(s0.source, CudaParam::Source::Stride);
  EXPECT_EQ(s0.tensor, "gates");
  EXPECT_EQ(s0.dim, 0);
  EXPECT_EQ(s1.dim, 1);
  EXPECT_EQ(s1.type, CudaParam::Type::I64);

  s = parse(cudaManifest("active"), m);
  ASSERT_TRUE(s.ok()) << s.message();
  const KernelSpec &a = m.kernels[0];
  EXPECT_EQ(a.gates, GatesKind::Active);
  EXPECT_EQ(a.cuda.gridRule, kGridQueryTilesXActive);
  EXPECT_EQ(a.cuda.gridQueryTile, 128);
  ASSERT_EQ(a.cuda.params.size(), 21u);
  EXPECT_EQ(a.cuda.params[19].tensor, "active");
  EXPECT_EQ(a.cuda.params[20].source, CudaParam::Source::Size);
  EXPECT_EQ(a.cuda.params[20].size, "active_count");
  EXPECT_EQ(a.cuda.params[20].type, CudaParam::Type::I32);

  ASSERT_TRUE(parse(cudaManifest("none"), m).ok());
  // Sizes any kernel may take: B * Hq as "pairs", the batch as "B".
  EXPECT_TRUE(parse(edit(cudaManifest("active"), R"("value": "active_count"})",
                         R"("value": "active_count"},
      {"name": "b", "type": "i32", "value": "B"},
      {"name": "p", "type": "i64", "value": "pairs"})"),
                    m)
                  .ok());
  // A grid rule this runtime does not know opens (and is refused when a
  // call would launch it): rules are added by name.
  ASSERT_TRUE(parse(edit(cudaManifest("none"), "query_tiles_x_pairs",
                         "split_kv_x_pairs"),
                    m)
                  .ok());
  EXPECT_EQ(m.kernels[0].cuda.gridRule, "split_kv_x_pairs");
}

TEST(Manifest, RefusesMalformedGatedCudaKernels) {
  const std::string gates = cudaManifest("gates"),
                    active = cudaManifest("active"),
                    none = cudaManifest("none");
  const std::string where = "kernels[0] (\"f_attn0\").cuda.params[";
  // Values outside the vocabulary, or with a type that cannot carry them:
  // the message lists what the runtime can pass.
  const std::string vocabulary =
      "is not a parameter the runtime can pass (query, key, value, out, "
      "gates or active as ptr; query/key/value/out.tensor_map as ptr with "
      "\"rows\"; query/key/value/out.stride[0-3], "
      "gates.stride[0-1], B, Sq, Skv, pairs, Hq, Hkv or active_count as "
      "i32/i64; scale as f32; tile_counter as ptr (persistent grids); "
      "operand[i] or result[i] as ptr; "
      "operand[i].stride[j], operand[i].shape[j], result[i].stride[j], "
      "result[i].shape[j] or a size name of the function as i32/i64)";
  expectError(edit(gates, "\"gates.stride[1]\"", "\"gates.stride[2]\""),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              where + "21].value: \"gates.stride[2]\" with type \"i64\" " +
                  vocabulary);
  expectError(edit(gates, R"("type": "ptr", "value": "gates")",
                   R"("type": "i64", "value": "gates")"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              where + "19].value: \"gates\" with type \"i64\" " + vocabulary);
  expectError(edit(active, R"("type": "i32", "value": "active_count")",
                   R"("type": "ptr", "value": "active_count")"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "\"active_count\" with type \"ptr\" " + vocabulary);
  expectError(edit(active, R"("value": "active_count")",
                   R"("value": "active.stride[0]")"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "\"active.stride[0]\" with type \"i32\" " + vocabulary);
  expectError(edit(active, R"("value": "active_count")",
                   R"("value": "num_active")"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "\"num_active\" with type \"i32\" " + vocabulary);
  // The gates tensor and the active list, each only where the function
  // has it.
  expectError(edit(active, R"("value": "active_count"})",
                   R"("value": "active_count"}, {"name": "g", "type": "ptr",
                   "value": "gates"})"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              where + "21].value: \"gates\" needs a kernel with \"gates\": "
                      "\"gates\"; this one has \"gates\": \"active\"");
  expectError(edit(gates, R"("value": "gates.stride[1]"})",
                   R"("value": "gates.stride[1]"}, {"name": "n",
                   "type": "i32", "value": "active_count"})"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              where + "22].value: \"active_count\" needs a kernel with "
                      "\"gates\": \"active\"; this one has \"gates\": "
                      "\"gates\"");
  expectError(edit(none, R"("value": "scale"})",
                   R"("value": "scale"}, {"name": "a", "type": "ptr",
                   "value": "active"})"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              where + "19].value: \"active\" needs a kernel with \"gates\": "
                      "\"active\"; this one has \"gates\": \"none\"");
  expectError(edit(none, R"("value": "scale"})",
                   R"("value": "scale"}, {"name": "s", "type": "i64",
                   "value": "gates.stride[0]"})"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "\"gates.stride[0]\" needs a kernel with \"gates\": \"gates\"; "
              "this one has \"gates\": \"none\"");
  // A gated kernel must be handed its gates, or it would compute the
  // gated-off pairs.
  expectError(edit(gates, kGatesParams, ""), ATTN_ERROR_CORRUPT_ARTIFACT,
              "kernels[0] (\"f_attn0\").cuda.params: a kernel with "
              "\"gates\": \"gates\" must take the gates tensor as a parameter "
              "({\"type\": \"ptr\", \"value\": \"gates\"}); none of its 19 "
              "parameters does");
  expectError(edit(active, kActiveParams, ""), ATTN_ERROR_CORRUPT_ARTIFACT,
              "a kernel with \"gates\": \"active\" must take the active list "
              "as a parameter ({\"type\": \"ptr\", \"value\": \"active\"}); "
              "none of its 19 parameters does");
  // Grid rules fit the gates.
  expectError(edit(gates, "query_tiles_x_pairs", "query_tiles_x_active"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "kernels[0] (\"f_attn0\").cuda.grid.rule: "
              "\"query_tiles_x_active\" launches one block row per entry of "
              "an active list; this kernel has \"gates\": \"gates\" (its rule "
              "is \"query_tiles_x_pairs\")");
  expectError(edit(none, "query_tiles_x_pairs", "query_tiles_x_active"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "this kernel has \"gates\": \"none\"");
  expectError(edit(active, "query_tiles_x_active", "query_tiles_x_pairs"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "cuda.grid.rule: \"query_tiles_x_pairs\" launches one block row "
              "per (batch, head) pair; a kernel with \"gates\": \"active\" is "
              "launched over its list (\"query_tiles_x_active\")");
  // Known rules need their tile.
  expectError(edit(active, R"(, "query_tile": 128)", ""),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "kernels[0] (\"f_attn0\").cuda.grid: missing field "
              "\"query_tile\"");
  // The function's fourth input must be what the kernel takes.
  expectError(edit(active, R"({"role": "active", "dtype": "i32", "shape": ["pairs"]})",
                   R"({"role": "active", "dtype": "bool", "shape": ["B", 8]})"),
              ATTN_ERROR_CORRUPT_ARTIFACT,
              "the active list (input 3 of \"f\") is declared bool of rank 2; "
              "the kernel takes i32 of rank 1");
}

//===----------------------------------------------------------------------===//
// Files, host, CUDA images
//===----------------------------------------------------------------------===//

class MemorySource : public FileSource {
public:
  std::map<std::string, std::string> files;
  Status size(const std::string &path, uint64_t &bytes) override {
    auto it = files.find(path);
    if (it == files.end())
      return Status::error(ATTN_ERROR_CORRUPT_ARTIFACT,
                           "artifact file '" + path + "' is missing");
    bytes = it->second.size();
    return Status::success();
  }
  Status sha256(const std::string &path, std::string &hex) override {
    hex = Sha256::hex(files.at(path).data(), files.at(path).size());
    return Status::success();
  }
};

//===----------------------------------------------------------------------===//
// Issue 8: select_blocks, compress_kv, blocks lists, derived sizes
//===----------------------------------------------------------------------===//

TEST(Manifest, ReadsSparseProjectionKernels) {
  Manifest m;
  Status s = parse(sparseCpuManifest(), m);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(m.kernels.size(), 3u);
  const KernelSpec &sel = m.kernels[0], &cmp = m.kernels[1],
                   &att = m.kernels[2];
  EXPECT_EQ(sel.op, KernelOp::SelectBlocks);
  EXPECT_EQ(sel.select.topK, 16);
  EXPECT_EQ(sel.select.keepSink, 1);
  EXPECT_EQ(sel.select.keepLocal, 2);
  EXPECT_TRUE(sel.select.causal);
  EXPECT_EQ(sel.resultArgs, std::vector<int64_t>{0});
  EXPECT_EQ(cmp.op, KernelOp::CompressKV);
  EXPECT_TRUE(cmp.compress.linear);
  EXPECT_EQ(cmp.compress.stride, 16);
  EXPECT_EQ(cmp.operandTypes().size(), 3u);
  EXPECT_EQ(cmp.operandTypes()[2].rank, 2);
  EXPECT_EQ(cmp.resultArgs, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(att.op, KernelOp::Attention);
  EXPECT_TRUE(att.hasBlocks);
  EXPECT_EQ(att.blocksOperand(), 3);
  EXPECT_EQ(att.blocks.slots, 16);
  const FunctionSpec &compress = m.functions[1];
  ASSERT_EQ(compress.derivedSizes.size(), 1u);
  EXPECT_EQ(compress.derivedSizes[0].kind, DerivedSize::Kind::Windows);
  EXPECT_EQ(compress.derivedSizes[0].base, "Skv");
  EXPECT_EQ(compress.derivedSizes[0].a, 32);
  EXPECT_EQ(compress.derivedSizes[0].b, 16);

  // Binding: ceil(200 / 64) = 4; (100 - 32) / 16 + 1 = 5; a window longer
  // than its size is refused naming both.
  SizeBindings sizes = {{"B", 1}, {"Sq", 200}, {"Skv", 100}};
  ASSERT_TRUE(bindDerivedSizes(m.functions[0], sizes).ok());
  EXPECT_EQ(sizes["Sq_blocks"], 4);
  ASSERT_TRUE(bindDerivedSizes(compress, sizes).ok());
  EXPECT_EQ(sizes["Skv_slots"], 5);
  sizes["Skv"] = 31;
  Status shortKeys = bindDerivedSizes(compress, sizes);
  EXPECT_EQ(shortKeys.code(), ATTN_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(shortKeys.message(),
            "size Skv_slots = (Skv - 32) / 16 + 1 (windows of 32 every 16) "
            "needs Skv >= 32; the call has Skv = 31");

  // Kernels of attention only still read without result_args.
  ASSERT_TRUE(parse(manifest(), m).ok());
  EXPECT_EQ(m.kernels[0].resultArgs, std::vector<int64_t>{0});
}

TEST(Manifest, RefusesMalformedSparseProjectionEntries) {
  const std::string good = sparseCpuManifest();
  const auto C = ATTN_ERROR_CORRUPT_ARTIFACT;
  const std::string sel = "kernels[0] (\"select_sel0\")",
                    cmp = "kernels[1] (\"compress_cmp0\")",
                    att = "kernels[2] (\"selected_attn0\")";
  expectError(edit(good, R"("op": "select_blocks")", R"("op": "topk")"), C,
              sel + ".op: \"topk\" is not an op this runtime runs "
                    "(attention, select_blocks, compress_kv, sparse_branches)");
  // Operand and result counts per op.
  expectError(edit(good, R"("operand_args": [0, 1], "result_args": [0]})",
                   R"("operand_args": [0, 1, 0], "result_args": [0]})"),
              C, sel + ".operand_args: must have 2 entries (query, key), "
                       "found 3");
  expectError(edit(good, R"("pooled_keys": false)", R"("pooled_keys": true)"),
              C, sel + ".operand_args: must have 3 entries (query, key, "
                       "pooled keys), found 2");
  expectError(edit(good, R"("result_args": [0, 1]})", R"("result_args": [0]})"),
              C, cmp + ".result_args: must have 2 entries (compressed key, "
                       "compressed value), found 1");
  expectError(edit(good, R"("method": "linear")", R"("method": "mean")"), C,
              cmp + ".operand_args: must have 2 entries (key, value), found 3");
  expectError(edit(good, R"("operand_args": [0, 1], "result_args": [0]})",
                   R"("operand_args": [0, 1]})"),
              C, sel + ": missing field \"result_args\"");
  expectError(edit(good, R"("result_index": 0, "result_args": [0]})",
                   R"("result_index": 0, "result_args": [1]})"),
              C, att + ".result_index: is 0, but result_args[0] is 1; they "
                       "name one output");
  expectError(edit(good, R"("operand_args": [0, 1, 2, 3], "result_index")",
                   R"("operand_args": [0, 1, 2], "result_index")"),
              C, att + ".operand_args: must have 4 entries (query, key, "
                       "value, blocks), found 3");
  // Fields: presence and range.
  expectError(edit(good, R"("top_k": 16, )", ""), C,
              sel + ": missing field \"top_k\"");
  expectError(edit(good, R"("top_k": 16)", R"("top_k": 0)"), C,
              sel + ".top_k: must be in [1, 1048576], found 0");
  expectError(edit(good, R"("keep_sink": 1)", R"("keep_sink": -1)"), C,
              sel + ".keep_sink: must be in [0, 1048576], found -1");
  expectError(edit(good, R"("causal": true, "pooled_keys")",
                   R"("causal": 1, "pooled_keys")"),
              C, sel + ".causal: must be a boolean, found a number");
  expectError(edit(good, R"("method": "linear")", R"("method": "max")"), C,
              cmp + ".method: \"max\" is not \"mean\" or \"linear\"");
  expectError(edit(good, R"("weights_dtype": "f32")",
                   R"("weights_dtype": "i32")"),
              C, cmp + ".weights_dtype: \"i32\" is not a float type");
  expectError(edit(good, R"("stride": 16)", R"("stride": 0)"), C,
              cmp + ".stride: must be in [1, 1048576], found 0");
  expectError(edit(good, R"("window": 32, "stride")", R"("stride")"), C,
              cmp + ": missing field \"window\"");
  expectError(edit(good, R"("slots": 16)", R"("slots": 0)"), C,
              att + ".blocks.slots: must be in [1, 1048576], found 0");
  expectError(edit(good, R"("blocks": {"query_block": 64)",
                   R"("blocks": {"query_block": "64")"),
              C, att + ".blocks.query_block: must be a number, found a string");
  expectError(edit(good, R"("gated": false, "gates": "none",
     "blocks")",
                   R"("gated": false, "gates": "none", "blocks": [],
     "x")"),
              C, att + ".blocks: must be an object, found an array");
  expectError(edit(good, R"("op": "select_blocks")",
                   R"("op": "select_blocks", "gated": true)"),
              C, sel + ".gated: a select_blocks kernel is never gated");
  // Tensors of the kernel's types: a blocks list is i32 of rank 4.
  expectError(edit(good, R"({"role": "blocks", "dtype": "i32")",
                   R"({"role": "blocks", "dtype": "f32")"),
              C, "kernel \"selected_attn0\".operand_args[3]: the blocks "
                 "(input 3 of \"selected\") is declared f32 of rank 4; the "
                 "kernel takes i32 of rank 4");
  expectError(edit(good, R"("blocks", "dtype": "i32", "shape": ["B", 2, "Sq_blocks", 16])",
                   R"("blocks", "dtype": "i32", "shape": ["B", 2, "Sq_blocks"])"),
              C, "the blocks (input 3 of \"selected\") is declared i32 of "
                 "rank 3; the kernel takes i32 of rank 4");
  expectError(edit(good, R"("blocks", "dtype": "i32", "shape": ["B", 2, "Sq_blocks", 16])",
                   R"("blocks", "dtype": "i32", "shape": ["B", 2, "Sq_blocks", 15])"),
              C, "the blocks list of \"selected\" has slots 15, the kernel "
                 "was compiled for 16");
  expectError(edit(good, R"({"role": "indices", "dtype": "i32")",
                   R"({"role": "indices", "dtype": "bf16")"),
              C, "the indices (output 0 of \"select\") is declared bf16 of "
                 "rank 4; the kernel writes i32 of rank 4");
  expectError(edit(good, R"({"role": "weights", "dtype": "f32", "shape": [2, 32]})",
                   R"({"role": "weights", "dtype": "f32", "shape": [2, 16]})"),
              C, "the weights of \"compress\" has window positions "
                 "16, the kernel was compiled for 32");
  expectError(edit(good, R"("result_args": [0, 1]})",
                   R"("result_args": [0, 0]})"),
              C, "kernel \"compress_cmp0\" lists twice output 0");
  // Derived sizes: of sizes the inputs name, one rule each, in range.
  const std::string ceil = R"({"name": "Sq_blocks", "ceil_div": ["Sq", 64]})";
  const std::string fn = "functions[0] (\"select\").derived_sizes[0]";
  expectError(edit(good, ceil, R"({"name": "Sq_blocks", "ceil_div": ["T", 64]})"),
              C, fn + ".ceil_div[0]: \"T\" is not a size the function's "
                      "inputs name or an earlier derived one (B, Skv, Sq)");
  expectError(edit(good, ceil, R"({"name": "Sq_blocks", "ceil_div": ["Sq", 0]})"),
              C, fn + ".ceil_div[1]: must be in [1, 1099511627776], found 0");
  expectError(edit(good, ceil, R"({"name": "Sq_blocks", "ceil_div": ["Sq"]})"),
              C, fn + ".ceil_div: must be [size, divisor]");
  expectError(edit(good, ceil, R"({"name": "Sq_blocks", "ceil_div": [64, "Sq"]})"),
              C, fn + ".ceil_div[0]: must be a size name, found a number");
  expectError(edit(good, ceil, R"({"name": "Sq_blocks"})"), C,
              fn + ": must have exactly one of \"ceil_div\": [size, divisor] "
                   "and \"windows\": [size, block, stride]");
  expectError(edit(good, ceil,
                   R"({"name": "Sq_blocks", "ceil_div": ["Sq", 64], "windows": ["Sq", 1, 1]})"),
              C, fn + ": must have exactly one of");
  expectError(edit(good, ceil, R"({"name": "Sq_blocks", "windows": ["Sq", 4, 0]})"),
              C, fn + ".windows[2]: must be in [1, 1099511627776], found 0");
  expectError(edit(good, ceil, ceil + ", " + ceil), C,
              "functions[0] (\"select\").derived_sizes[1].name: \"Sq_blocks\" "
              "is derived twice");
  expectError(edit(good, ceil, R"({"name": "Sq_blocks", "ceil_div": ["Sq_blocks", 64]})"),
              C, fn + ".ceil_div[0]: \"Sq_blocks\" is not a size the "
                      "function's inputs name or an earlier derived one");
  // A derived size may build on an earlier one.
  Manifest m;
  EXPECT_TRUE(parse(edit(good, ceil,
                         ceil + R"(, {"name": "half", "ceil_div": ["Sq_blocks", 2]})"),
                    m)
                  .ok());
}

TEST(Manifest, ReadsSparseCudaKernels) {
  Manifest m;
  Status s = parse(sparseCudaManifest(), m);
  ASSERT_TRUE(s.ok()) << s.message();
  const CudaKernelSpec &sel = m.kernels[0].cuda;
  EXPECT_EQ(sel.gridRule, kGridTilesXKvPairs);
  EXPECT_EQ(sel.gridSize, "Sq_blocks");
  EXPECT_EQ(sel.gridTile, 4);
  EXPECT_EQ(sel.params[0].operand, 0);
  EXPECT_EQ(sel.params[2].result, 0);
  EXPECT_EQ(sel.params[3].source, CudaParam::Source::Stride);
  const CudaParam &nqb = sel.params[14];
  EXPECT_EQ(nqb.source, CudaParam::Source::FunctionSize);
  EXPECT_EQ(nqb.size, "Sq_blocks");
  const CudaParam &keyLen = sel.params[15];
  EXPECT_EQ(keyLen.source, CudaParam::Source::Shape);
  EXPECT_EQ(keyLen.operand, 1);
  EXPECT_EQ(keyLen.dim, 2);
  EXPECT_EQ(sel.params[16].source, CudaParam::Source::Size);
}

TEST(Manifest, RefusesMalformedSparseCudaKernels) {
  const std::string good = sparseCudaManifest();
  const auto C = ATTN_ERROR_CORRUPT_ARTIFACT;
  const std::string sel = "kernels[0] (\"select_sel0\").cuda",
                    att = "kernels[1] (\"selected_attn0\").cuda";
  expectError(edit(good, R"("size": "Sq_blocks", "tile": 4)",
                   R"("size": "Sq_blocks", "tile": 0)"),
              C, sel + ".grid.tile: must be in [1, 1048576], found 0");
  expectError(edit(good, R"("size": "Sq_blocks", "tile": 4)", R"("tile": 4)"),
              C, sel + ".grid: missing field \"size\"");
  expectError(edit(good, R"("size": "Sq_blocks", "tile": 4)",
                   R"("size": "Nq", "tile": 4)"),
              C, sel + ".grid.size: \"Nq\" is not a size name of function "
                       "\"select\" (it has B, Skv, Sq, Sq_blocks)");
  expectError(edit(good, R"({"rule": "tiles_x_kv_pairs", "size": "Sq_blocks", "tile": 4})",
                   R"({"rule": "query_tiles_x_pairs", "query_tile": 64})"),
              C, sel + ".grid.rule: \"query_tiles_x_pairs\" tiles an attention "
                       "kernel's queries; a select_blocks kernel is launched "
                       "with \"tiles_x_kv_pairs\"");
  // Generic values: indices and dims in range, types that carry them.
  expectError(edit(good, R"("value": "operand[1].shape[2]")",
                   R"("value": "operand[2].shape[2]")"),
              C, sel + ".params[15].value: \"operand[2].shape[2]\": the kernel "
                       "has 2 operands (select_blocks)");
  expectError(edit(good, R"("value": "operand[1].shape[2]")",
                   R"("value": "operand[1].shape[4]")"),
              C, sel + ".params[15].value: \"operand[1].shape[4]\": the key "
                       "has rank 4");
  expectError(edit(good, R"("value": "operand[1].shape[2]")",
                   R"("value": "result[1]")"),
              C, sel + ".params[15].value: \"result[1]\": the kernel has 1 "
                       "results (select_blocks)");
  expectError(edit(good, R"("type": "i64", "value": "operand[1].shape[2]")",
                   R"("type": "ptr", "value": "operand[1].shape[2]")"),
              C, "\"operand[1].shape[2]\" with type \"ptr\" is not a "
                 "parameter the runtime can pass");
  expectError(edit(good, R"("value": "operand[1].shape[2]")",
                   R"("value": "operand[1].size[2]")"),
              C, "\"operand[1].size[2]\" with type \"i64\" is not a "
                 "parameter the runtime can pass");
  expectError(edit(good, R"("type": "ptr", "value": "operand[0]")",
                   R"("type": "i64", "value": "operand[0]")"),
              C, sel + ".params[0].value: \"operand[0]\" with type \"i64\"");
  expectError(edit(good, R"("value": "Sq_blocks")", R"("value": "Skv_blocks")"),
              C, sel + ".params[14].value: \"Skv_blocks\" with type \"i32\" is "
                       "not a parameter the runtime can pass");
  expectError(edit(good, R"("value": "Sq_blocks")", R"("value": "Skv_blocks")"),
              C, "function \"select\" has the size names B, Skv, Sq, "
                 "Sq_blocks");
  expectError(edit(good, R"("value": "operand[0]")", R"("value": "query")"),
              C, sel + ".params[0].value: \"query\" names a tensor of "
                       "attention kernels; a select_blocks kernel passes its "
                       "tensors as operand[i] and result[i]");
  expectError(edit(good, R"("max_key_blocks": 8)", R"("max_key_blocks": 0)"),
              C, "kernels[0] (\"select_sel0\").max_key_blocks: must be in [1, "
                 "1099511627776], found 0");
  // A grid size may be an extent of the kernel's tensors.
  Manifest m;
  ASSERT_TRUE(parse(edit(good, R"("size": "Sq_blocks")",
                         R"("size": "result[0].shape[2]")"),
                    m)
                  .ok());
  EXPECT_EQ(m.kernels[0].cuda.gridSizeShape.source, CudaParam::Source::Shape);
  EXPECT_EQ(m.kernels[0].cuda.gridSizeShape.result, 0);
  for (const char *bad : {"operand[2].shape[2]", "operand[0].shape[4]",
                          "operand[0]", "result[0].stride[2]"})
    expectError(edit(good, R"("size": "Sq_blocks")",
                     std::string(R"("size": ")") + bad + "\""),
                C, sel + ".grid.size: \"" + bad +
                       "\" is not an extent of the kernel's tensors "
                       "(operand[i] or result[i].shape[j] within the op's 2 "
                       "operands, 1 results and their ranks) nor a size name");
  // Every tensor of a select kernel, and an attention kernel's blocks list,
  // is passed.
  expectError(edit(good, R"("name": "idx", "type": "ptr", "value": "result[0]")",
                   R"("name": "idx", "type": "i64", "value": "result[0].stride[3]")"),
              C, sel + ".params: the kernel's indices (result 0) is none of "
                       "its parameters; expected {\"type\": \"ptr\", "
                       "\"value\": \"result[0]\"}");
  expectError(edit(good, R"({"name": "blocks", "type": "ptr", "value": "operand[3]"},)",
                   ""),
              C, att + ".params: the kernel's blocks (operand 3) is none of "
                       "its parameters; expected {\"type\": \"ptr\", "
                       "\"value\": \"operand[3]\"}");
}

//===----------------------------------------------------------------------===//
// Issue 8: sparse_branches (NSA-style combined attention)
//===----------------------------------------------------------------------===//

TEST(Manifest, ReadsSparseBranchesKernels) {
  Manifest m;
  Status s = parse(branchesCpuManifest(), m);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(m.kernels.size(), 1u);
  const KernelSpec &k = m.kernels[0];
  EXPECT_EQ(k.op, KernelOp::SparseBranches);
  EXPECT_STREQ(opName(k.op), "sparse_branches");
  EXPECT_EQ(k.branches.compressWindow, 32);
  EXPECT_EQ(k.branches.compressStride, 16);
  EXPECT_TRUE(k.branches.causal);
  EXPECT_EQ(k.branches.pattern, "#attn.local<window = 511, causal>");
  EXPECT_EQ(k.branches.weightsDtype, ATTN_DTYPE_F32);
  EXPECT_EQ(k.blocks.queryBlock, 64);
  EXPECT_EQ(k.blocks.keyBlock, 64);
  EXPECT_EQ(k.blocks.slots, 16);
  EXPECT_TRUE(k.blocks.causal);
  // Its blocks list is operand 5, not an attention kernel's last operand.
  EXPECT_FALSE(k.hasBlocks);
  EXPECT_EQ(k.blocksOperand(), -1);
  EXPECT_FALSE(k.gated);
  EXPECT_EQ(k.operandArgs, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(k.resultArgs, std::vector<int64_t>{0});
  const std::vector<OperandType> ops = k.operandTypes(),
                                 results = k.resultTypes();
  ASSERT_EQ(ops.size(), 7u);
  const char *roles[] = {"query",          "key",    "value",
                         "compressed key", "compressed value",
                         "blocks",         "weights"};
  const attn_dtype types[] = {ATTN_DTYPE_BF16, ATTN_DTYPE_BF16,
                              ATTN_DTYPE_BF16, ATTN_DTYPE_BF16,
                              ATTN_DTYPE_BF16, ATTN_DTYPE_I32,
                              ATTN_DTYPE_F32};
  for (int i = 0; i < 7; ++i) {
    EXPECT_STREQ(ops[i].role, roles[i]) << i;
    EXPECT_EQ(ops[i].dtype, types[i]) << i;
    EXPECT_EQ(ops[i].rank, 4) << i;
  }
  ASSERT_EQ(results.size(), 1u);
  EXPECT_STREQ(results[0].role, "out");
  EXPECT_EQ(results[0].dtype, ATTN_DTYPE_BF16);
  // Weights of another float type follow weights_dtype.
  ASSERT_TRUE(parse(edit(edit(branchesCpuManifest(), R"("weights_dtype": "f32")",
                              R"("weights_dtype": "bf16")"),
                         R"({"role": "weights", "dtype": "f32")",
                         R"({"role": "weights", "dtype": "bf16")"),
                    m)
                  .ok());
  EXPECT_EQ(m.kernels[0].operandTypes()[6].dtype, ATTN_DTYPE_BF16);
  // Without value_dim, Dv is D; "gated": false may be said.
  ASSERT_TRUE(parse(edit(branchesCpuManifest(), R"("value_dim": 128,)",
                         R"("gated": false,)"),
                    m)
                  .ok());
  EXPECT_EQ(m.kernels[0].valueDim, 128);
}

TEST(Manifest, RefusesMalformedSparseBranchesEntries) {
  const std::string good = branchesCpuManifest();
  const auto C = ATTN_ERROR_CORRUPT_ARTIFACT;
  const std::string br = "kernels[0] (\"nsa_br0\")";
  // Presence, type and range of each field.
  for (const char *field :
       {"\"query_heads\": 32, ", "\"key_heads\": 8, ", "\"head_dim\": 128, ",
        "\"compress_window\": 32, ", "\"compress_stride\": 16, ",
        "\"causal\": true,\n", "\"weights_dtype\": \"f32\",\n",
        "\"pattern\": \"#attn.local<window = 511, causal>\", ",
        "\"result_args\": [0]"}) {
    std::string name = field;
    name = name.substr(1, name.find('"', 1) - 1);
    std::string text = good;
    const size_t at = text.find(field);
    ASSERT_NE(at, std::string::npos) << field;
    text.erase(at, std::strlen(field));
    if (name == "result_args") // the comma before it
      text.erase(text.rfind(',', at), 1);
    expectError(text, C, br + ": missing field \"" + name + "\"");
  }
  expectError(edit(good, R"("blocks": {"query_block": 64, "key_block": 64, "slots": 16, "causal": true},)",
                   ""),
              C, br + ": missing field \"blocks\"");
  expectError(edit(good, R"("compress_window": 32)", R"("compress_window": 0)"),
              C, br + ".compress_window: must be in [1, 1048576], found 0");
  expectError(edit(good, R"("compress_stride": 16)", R"("compress_stride": 0)"),
              C, br + ".compress_stride: must be in [1, 1048576], found 0");
  expectError(edit(good, R"("compress_stride": 16)",
                   R"("compress_stride": 1.5)"),
              C, br + ".compress_stride: must be an integer, found a "
                      "non-integer number");
  expectError(edit(good, R"("causal": true,
)", R"("causal": "yes",
)"),
              C, br + ".causal: must be a boolean, found a string");
  expectError(edit(good, R"("slots": 16)", R"("slots": 0)"), C,
              br + ".blocks.slots: must be in [1, 1048576], found 0");
  expectError(edit(good, R"("key_block": 64, "slots")", R"("slots")"), C,
              br + ".blocks: missing field \"key_block\"");
  expectError(edit(good, R"("slots": 16, "causal": true})", R"("slots": 16})"),
              C, br + ".blocks: missing field \"causal\"");
  expectError(edit(good, R"("blocks": {"query_block")", R"("blocks": [], "x": {"query_block")"),
              C, br + ".blocks: must be an object, found an array");
  expectError(edit(good, R"("pattern": "#attn.local<window = 511, causal>")",
                   R"("pattern": "")"),
              C, br + ".pattern: must not be empty");
  expectError(edit(good, R"("pattern": "#attn.local<window = 511, causal>")",
                   R"("pattern": 511)"),
              C, br + ".pattern: must be a string, found a number");
  expectError(edit(good, R"("weights_dtype": "f32")",
                   R"("weights_dtype": "i32")"),
              C, br + ".weights_dtype: \"i32\" is not a float type (f32, "
                      "f16, bf16)");
  expectError(edit(good, R"("weights_dtype": "f32")",
                   R"("weights_dtype": "f64")"),
              C, br + ".weights_dtype: \"f64\" is not a float type");
  expectError(edit(good, R"("query_heads": 32)", R"("query_heads": 12)"), C,
              br + ": query_heads (12) is not a multiple of key_heads (8)");
  expectError(edit(good, R"("op": "sparse_branches",)",
                   R"("op": "sparse_branches", "gated": true,)"),
              C, br + ".gated: a sparse_branches kernel is never gated");
  // Exactly 7 operands and 1 result, named by role.
  expectError(edit(good, R"("operand_args": [0, 1, 2, 3, 4, 5, 6])",
                   R"("operand_args": [0, 1, 2, 3, 4, 5])"),
              C, br + ".operand_args: must have 7 entries (query, key, value, "
                      "compressed key, compressed value, blocks, weights), "
                      "found 6");
  expectError(edit(good, R"("result_args": [0])", R"("result_args": [0, 0])"),
              C, br + ".result_args: must have 1 entries (out), found 2");
  expectError(edit(good, R"("operand_args": [0, 1, 2, 3, 4, 5, 6])",
                   R"("operand_args": [0, 1, 2, 3, 4, 5, 7])"),
              C, "kernel \"nsa_br0\".operand_args[6]: names input 7 of "
                 "function \"nsa\", which has 7");
  // The function's tensors of the kernel's types and compiled sizes.
  expectError(edit(good, R"({"role": "weights", "dtype": "f32")",
                   R"({"role": "weights", "dtype": "bf16")"),
              C, "kernel \"nsa_br0\".operand_args[6]: the weights (input 6 of "
                 "\"nsa\") is declared bf16 of rank 4; the kernel takes f32 "
                 "of rank 4");
  expectError(edit(good, R"({"role": "blocks", "dtype": "i32")",
                   R"({"role": "blocks", "dtype": "f32")"),
              C, "the blocks (input 5 of \"nsa\") is declared f32 of rank 4; "
                 "the kernel takes i32 of rank 4");
  expectError(edit(good, R"(["B", 8, "Skv_slots", 128]},
                {"role": "compressed_value")",
                   R"(["B", 8, "Skv_slots"]},
                {"role": "compressed_value")"),
              C, "the compressed key (input 3 of \"nsa\") is declared bf16 of "
                 "rank 3; the kernel takes bf16 of rank 4");
  expectError(edit(good, R"(["B", 32, "Sq", 3])", R"(["B", 32, "Sq", 4])"), C,
              "the weights of \"nsa\" has branch weights 4, the kernel was "
              "compiled for 3");
  expectError(edit(good, R"(["B", 32, "Sq", 3])", R"(["B", 16, "Sq", 3])"), C,
              "the weights of \"nsa\" has query heads 16, the kernel was "
              "compiled for 32");
  expectError(edit(good, R"("shape": ["B", 8, "Sq_blocks", 16])",
                   R"("shape": ["B", 8, "Sq_blocks", 8])"),
              C, "the blocks list of \"nsa\" has slots 8, the kernel was "
                 "compiled for 16");
  expectError(edit(good, R"("shape": ["B", 8, "Skv_slots", 128]},
                {"role": "blocks")",
                   R"("shape": ["B", 8, "Skv_slots", 64]},
                {"role": "blocks")"),
              C, "the compressed value of \"nsa\" has value head dim 64, the "
                 "kernel was compiled for 128");
  expectError(edit(good, R"("shape": ["B", 8, "Skv_slots", 128]},
                {"role": "compressed_value")",
                   R"("shape": ["B", 4, "Skv_slots", 128]},
                {"role": "compressed_value")"),
              C, "the compressed key of \"nsa\" has key/value heads 4, the "
                 "kernel was compiled for 8");
}

TEST(Manifest, ReadsSparseBranchesCudaKernels) {
  Manifest m;
  Status s = parse(branchesCudaManifest(), m);
  ASSERT_TRUE(s.ok()) << s.message();
  const CudaKernelSpec &c = m.kernels[0].cuda;
  EXPECT_EQ(c.gridRule, kGridQueryTilesXPairs);
  EXPECT_EQ(c.gridQueryTile, 64);
  EXPECT_FALSE(c.gridPositionTiles);
  EXPECT_FLOAT_EQ(static_cast<float>(c.scale), 0.0884f);
  ASSERT_EQ(c.params.size(), 38u);
  EXPECT_EQ(c.params[6].operand, 6);
  EXPECT_EQ(c.params[7].result, 0);
  EXPECT_EQ(c.params[32].source, CudaParam::Source::FunctionSize);
  EXPECT_EQ(c.params[32].size, "Sq");
  EXPECT_EQ(c.params[34].size, "Skv_slots");
  EXPECT_EQ(c.params[35].source, CudaParam::Source::Scale);
  EXPECT_EQ(c.params[36].source, CudaParam::Source::Size);
  EXPECT_EQ(c.params[36].size, "Hq");
  EXPECT_EQ(c.params[37].source, CudaParam::Source::Shape);
}

TEST(Manifest, RefusesMalformedSparseBranchesCudaKernels) {
  const std::string good = branchesCudaManifest();
  const auto C = ATTN_ERROR_CORRUPT_ARTIFACT;
  const std::string br = "kernels[0] (\"nsa_br0\").cuda";
  const std::string grid =
      R"({"rule": "query_tiles_x_pairs", "query_tile": 64, "query_tiles": "rows"})";
  expectError(edit(good, grid,
                   R"({"rule": "tiles_x_kv_pairs", "size": "Sq_blocks", "tile": 1})"),
              C, br + ".grid.rule: \"tiles_x_kv_pairs\" is not the rule of a "
                      "sparse_branches kernel: it is launched with "
                      "\"query_tiles_x_pairs\" (query tiles x (batch, query "
                      "head) pairs)");
  expectError(edit(good, grid,
                   R"({"rule": "query_tiles_x_active", "query_tile": 64})"),
              C, br + ".grid.rule: \"query_tiles_x_active\" is not the rule "
                      "of a sparse_branches kernel");
  expectError(edit(good, grid, R"({"rule": "diagonal_tiles", "query_tile": 64})"),
              C, br + ".grid.rule: \"diagonal_tiles\" is not the rule of a "
                      "sparse_branches kernel");
  expectError(edit(good, grid,
                   R"({"rule": "query_tiles_x_pairs", "query_tile": 64, "query_tiles": "positions"})"),
              C, br + ".grid.query_tiles: \"positions\" does not fit a "
                      "sparse_branches kernel, whose blocks list is indexed "
                      "by query row blocks; expected \"rows\"");
  expectError(edit(good, grid, R"({"rule": "query_tiles_x_pairs"})"), C,
              br + ".grid: missing field \"query_tile\"");
  // Generic values only, within its 7 operands and 1 result.
  expectError(edit(good, R"("value": "operand[0]")", R"("value": "query")"),
              C, br + ".params[0].value: \"query\" names a tensor of "
                      "attention kernels; a sparse_branches kernel passes its "
                      "tensors as operand[i] and result[i]");
  expectError(edit(good, R"("value": "operand[5].shape[3]")",
                   R"("value": "operand[7].shape[3]")"),
              C, br + ".params[37].value: \"operand[7].shape[3]\": the kernel "
                      "has 7 operands (sparse_branches)");
  expectError(edit(good, R"("value": "Hq")", R"("value": "pairs")"), C,
              br + ".params[36].value: \"pairs\" with type \"i32\" is not a "
                   "parameter the runtime can pass");
  expectError(edit(good, R"("type": "f32", "value": "scale")",
                   R"("type": "i32", "value": "scale")"),
              C, br + ".params[35].value: \"scale\" with type \"i32\"");
  // Every operand and the result must be passed.
  expectError(edit(good, R"({"name": "p", "type": "ptr", "value": "operand[6]"},)",
                   ""),
              C, br + ".params: the kernel's weights (operand 6) is none of "
                      "its parameters; expected {\"type\": \"ptr\", "
                      "\"value\": \"operand[6]\"}");
  expectError(edit(good, R"({"name": "p", "type": "ptr", "value": "result[0]"},)",
                   ""),
              C, br + ".params: the kernel's out (result 0) is none of its "
                      "parameters; expected {\"type\": \"ptr\", \"value\": "
                      "\"result[0]\"}");
  // Select and compress kernels keep refusing query tiles.
  expectError(edit(sparseCudaManifest(),
                   R"({"rule": "tiles_x_kv_pairs", "size": "Sq_blocks", "tile": 4})",
                   R"({"rule": "query_tiles_x_pairs", "query_tile": 64})"),
              C, "\"query_tiles_x_pairs\" tiles an attention kernel's "
                 "queries; a select_blocks kernel is launched with "
                 "\"tiles_x_kv_pairs\"");
}

TEST(Manifest, VerifiesFiles) {
  Manifest m;
  ASSERT_TRUE(parse(manifest(), m).ok());
  MemorySource source;
  EXPECT_EQ(verifyFiles(m, source).code(), ATTN_ERROR_CORRUPT_ARTIFACT);
  source.files["kernels.so"] = "abc";
  EXPECT_TRUE(verifyFiles(m, source).ok());
  source.files["kernels.so"] = "abd";
  Status s = verifyFiles(m, source);
  EXPECT_NE(s.message().find("'kernels.so' has SHA-256 "), std::string::npos)
      << s.message();
  source.files["kernels.so"] = "abcd";
  s = verifyFiles(m, source);
  EXPECT_NE(s.message().find("has 4 bytes, the manifest lists 3"),
            std::string::npos)
      << s.message();
}

TEST(Manifest, ChecksTheHost) {
  Manifest m;
  ASSERT_TRUE(parse(manifest(), m).ok()); // x86_64, avx2 + fma
  HostInfo host{"x86_64", {"sse2", "avx2", "fma"}};
  EXPECT_TRUE(checkHost(m, host).ok());
  host.features = {"sse2", "avx"};
  Status s = checkHost(m, host);
  EXPECT_EQ(s.code(), ATTN_ERROR_TARGET_MISMATCH);
  EXPECT_NE(s.message().find("(target 'x86-64-v3'): it lacks avx2, fma;"),
            std::string::npos)
      << s.message();
  host = {"aarch64", {"neon"}};
  s = checkHost(m, host);
  EXPECT_NE(s.message().find("is for x86_64 CPUs; this machine is aarch64"),
            std::string::npos)
      << s.message();
}

TEST(Manifest, DetectsThisCpu) {
  HostInfo host = detectHost();
#if defined(__x86_64__)
  EXPECT_EQ(host.arch, "x86_64");
  auto has = [&](const char *f) {
    return std::find(host.features.begin(), host.features.end(), f) !=
           host.features.end();
  };
  __builtin_cpu_init();
  EXPECT_TRUE(has("sse2"));
  // The compiler's own detection agrees (it also checks OS support).
  EXPECT_EQ(has("avx2"), bool(__builtin_cpu_supports("avx2")));
  EXPECT_EQ(has("fma"), bool(__builtin_cpu_supports("fma")));
  EXPECT_EQ(has("avx512f"), bool(__builtin_cpu_supports("avx512f")));
  EXPECT_EQ(has("avx512bw"), bool(__builtin_cpu_supports("avx512bw")));
  EXPECT_EQ(has("bmi2"), bool(__builtin_cpu_supports("bmi2")));
  for (const std::string &f : host.features)
    EXPECT_NE(std::find(knownCpuFeatures("x86_64").begin(),
                        knownCpuFeatures("x86_64").end(), f),
              knownCpuFeatures("x86_64").end())
        << f;
  std::string list;
  for (const std::string &f : host.features)
    list += " " + f;
  std::printf("this CPU:%s\n", list.c_str());
#elif defined(__aarch64__)
  EXPECT_EQ(host.arch, "aarch64");
#endif
}

TEST(Manifest, ChoosesCudaImages) {
  KernelSpec k;
  k.name = "k";
  k.cuda.binaries = {{"sm_90a", "a.cubin"}, {"sm_80", "b.cubin"}};
  k.cuda.ptxFile = "k.ptx";
  k.cuda.ptxTarget = "sm_80";
  std::string file;
  bool ptx = true;
  ASSERT_TRUE(selectCudaImage(k, 9, 0, file, ptx).ok());
  EXPECT_EQ(file, "a.cubin"); // exact chip, arch-specific build
  EXPECT_FALSE(ptx);
  ASSERT_TRUE(selectCudaImage(k, 8, 6, file, ptx).ok());
  EXPECT_EQ(file, "b.cubin"); // sm_80 SASS runs on sm_86
  ASSERT_TRUE(selectCudaImage(k, 10, 0, file, ptx).ok());
  EXPECT_EQ(file, "k.ptx"); // newer major: JIT from PTX
  EXPECT_TRUE(ptx);
  Status s = selectCudaImage(k, 7, 5, file, ptx);
  EXPECT_EQ(s.code(), ATTN_ERROR_TARGET_MISMATCH);
  EXPECT_NE(s.message().find("cannot run on this GPU (sm_75): it has sm_80, "
                             "sm_90a, PTX for sm_80"),
            std::string::npos)
      << s.message();
  k.cuda.ptxFile.clear();
  k.cuda.binaries = {{"sm_90a", "a.cubin"}};
  EXPECT_FALSE(selectCudaImage(k, 9, 1, file, ptx).ok()); // "a" is exact only
}

} // namespace
