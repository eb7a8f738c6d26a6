//===- Calibration.cpp - Model descriptions and calibration activations ---===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Explore/Explore.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <random>

using namespace mlir::attn::explore;
using llvm::StringRef;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message.str());
}

llvm::Expected<ModelDescription>
mlir::attn::explore::parseModelDescription(StringRef json, StringRef name) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed)
    return makeError(name +
                     ": invalid JSON: " + llvm::toString(parsed.takeError()));
  const llvm::json::Object *object = parsed->getAsObject();
  if (!object)
    return makeError(name + ": expected a JSON object");

  ModelDescription model;
  if (std::optional<StringRef> text = object->getString("model"))
    model.model = text->str();
  else
    return makeError(name + ": expected a string \"model\" (the model's name)");

  struct Field {
    StringRef key;
    int64_t *value;
  };
  for (Field field :
       {Field{"layers", &model.layers}, Field{"heads", &model.heads},
        Field{"kv_heads", &model.kvHeads}, Field{"head_dim", &model.headDim},
        Field{"hidden", &model.hidden}, Field{"sequences", &model.sequences},
        Field{"seq_len", &model.seqLen}}) {
    const llvm::json::Value *value = object->get(field.key);
    std::optional<int64_t> number =
        value ? value->getAsInteger() : std::nullopt;
    if (!number)
      return makeError(name + ": expected an integer \"" + field.key + "\"" +
                       (value ? "" : " (missing)"));
    // Bounds that keep every product below 2^62 and every loop finite.
    if (*number < 1 || *number > (int64_t(1) << 20))
      return makeError(name + ": expected \"" + field.key +
                       "\" in [1, 2^20], found " + llvm::Twine(*number));
    *field.value = *number;
  }
  std::optional<bool> causal = object->getBoolean("causal");
  if (!causal)
    return makeError(name + ": expected a boolean \"causal\"");
  model.causal = *causal;
  if (model.heads % model.kvHeads != 0)
    return makeError(name + ": expected \"heads\" (" +
                     llvm::Twine(model.heads) +
                     ") to be a multiple of \"kv_heads\" (" +
                     llvm::Twine(model.kvHeads) + ")");
  if (const llvm::json::Value *lengths = object->get("lengths")) {
    // Sequences of their own lengths, padded to seq_len in the arrays.
    const llvm::json::Array *array = lengths->getAsArray();
    if (!array || int64_t(array->size()) != model.sequences)
      return makeError(
          name + ": expected \"lengths\" to be an array of \"sequences\" = " +
          llvm::Twine(model.sequences) + " integers, found " +
          (array ? "an array of " + llvm::Twine(array->size())
                 : llvm::Twine("another JSON type")));
    for (auto [i, value] : llvm::enumerate(*array)) {
      std::optional<int64_t> length = value.getAsInteger();
      if (!length || *length < 1 || *length > model.seqLen)
        return makeError(name + ": expected \"lengths\"[" + llvm::Twine(i) +
                         "] to be an integer in [1, seq_len = " +
                         llvm::Twine(model.seqLen) + "]" +
                         (length ? ", found " + llvm::Twine(*length)
                                 : llvm::Twine(", found a non-integer")));
      model.lengths.push_back(*length);
    }
  }
  if (model.causal)
    return makeError(name + ": \"causal\": true is not supported yet: "
                            "attn-explore searches bidirectional encoders "
                            "(the dense reference and every option would "
                            "need the causal mask)");
  return model;
}

llvm::Expected<ModelDescription>
mlir::attn::explore::readModelDescription(StringRef dir) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "model.json");
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return makeError(path + ": cannot read the model description: " +
                     buffer.getError().message());
  return parseModelDescription((*buffer)->getBuffer(), path);
}

std::string mlir::attn::explore::activationPath(StringRef dir, int64_t layer,
                                                StringRef tensor) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path,
                          "layer" + llvm::Twine(layer) + "_" + tensor + ".npy");
  return std::string(path);
}

namespace {
/// The shape model.json implies for one activation file.
llvm::SmallVector<int64_t, 4> expectedShape(const ModelDescription &model,
                                            StringRef tensor) {
  if (tensor == "x")
    return {model.sequences, model.seqLen, model.hidden};
  int64_t heads = tensor == "q" ? model.heads : model.kvHeads;
  return {model.sequences, heads, model.seqLen, model.headDim};
}

const char *const kTensors[] = {"q", "k", "v", "x"};

llvm::Error checkShape(StringRef path, llvm::ArrayRef<int64_t> found,
                       llvm::ArrayRef<int64_t> expected, StringRef tensor) {
  if (found == expected)
    return llvm::Error::success();
  return makeError(path + ": shape " + formatShape(found) +
                   " does not match model.json: expected " +
                   formatShape(expected) +
                   (tensor == "x" ? " ([sequences, seq_len, hidden])"
                                  : " ([sequences, heads, seq_len, "
                                    "head_dim], kv_heads for k and v)"));
}
} // namespace

llvm::Error
mlir::attn::explore::checkCalibration(StringRef dir,
                                      const ModelDescription &model) {
  for (int64_t layer = 0; layer < model.layers; ++layer)
    for (const char *tensor : kTensors) {
      std::string path = activationPath(dir, layer, tensor);
      if (!llvm::sys::fs::exists(path))
        return makeError(path +
                         ": missing activation file (model.json "
                         "declares " +
                         llvm::Twine(model.layers) +
                         " layers, each with layer<L>_q/k/v/x.npy)");
      llvm::Expected<llvm::SmallVector<int64_t, 4>> shape = readNpyShape(path);
      if (!shape)
        return shape.takeError();
      if (llvm::Error error =
              checkShape(path, *shape, expectedShape(model, tensor), tensor))
        return error;
    }
  return llvm::Error::success();
}

llvm::Expected<LayerActivations>
mlir::attn::explore::loadLayer(StringRef dir, const ModelDescription &model,
                               int64_t layer,
                               llvm::ArrayRef<int64_t> sequenceIds) {
  LayerActivations result;
  result.sequences = sequenceIds.size();
  for (int64_t id : sequenceIds)
    result.lengths.push_back(model.lengthOf(id));
  for (auto [tensor, target] :
       {std::pair<StringRef, NpyArray *>{"q", &result.query},
        {"k", &result.key},
        {"v", &result.value}}) {
    std::string path = activationPath(dir, layer, tensor);
    llvm::Expected<NpyArray> array = readNpy(path);
    if (!array)
      return array.takeError();
    if (llvm::Error error = checkShape(path, array->shape,
                                       expectedShape(model, tensor), tensor))
      return error;
    // A NaN would poison every sum and the front's ordering: refuse it.
    for (auto [i, x] : llvm::enumerate(array->data))
      if (!std::isfinite(x))
        return makeError(path + ": element " + llvm::Twine(i) + " is " +
                         (std::isnan(x) ? "NaN" : "infinite") +
                         " (expected finite activations)");
    int64_t perSequence = array->shape[1] * array->shape[2] * array->shape[3];
    target->shape = array->shape;
    target->shape[0] = result.sequences;
    target->data.resize(result.sequences * perSequence);
    for (auto [i, id] : llvm::enumerate(sequenceIds)) {
      assert(id >= 0 && id < model.sequences && "sequence out of range");
      std::copy_n(array->data.begin() + id * perSequence, perSequence,
                  target->data.begin() + i * perSequence);
    }
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Synthetic calibration data
//===----------------------------------------------------------------------===//

namespace {
/// Standard normal numbers from mt19937_64 by Box-Muller: unlike
/// std::normal_distribution, the same on every standard library.
class NormalStream {
public:
  explicit NormalStream(uint64_t seed) : engine(seed) {}
  double next() {
    double u1 = (double(engine() >> 11) + 0.5) / double(uint64_t(1) << 53);
    double u2 = double(engine() >> 11) / double(uint64_t(1) << 53);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

private:
  std::mt19937_64 engine;
};
} // namespace

llvm::Error mlir::attn::explore::writeSyntheticCalibration(
    StringRef dir, const ModelDescription &model, uint64_t seed) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return makeError(dir + ": cannot create the directory: " + ec.message());
  std::string json;
  llvm::raw_string_ostream os(json);
  os << llvm::json::Value(llvm::json::Object{
      {"model", model.model},
      {"source", llvm::json::Object{{"package", "synthetic"},
                                    {"version", "attn-explore"}}},
      {"text", "random numbers, seed " + std::to_string(seed)},
      {"layers", model.layers},
      {"heads", model.heads},
      {"kv_heads", model.kvHeads},
      {"head_dim", model.headDim},
      {"hidden", model.hidden},
      {"sequences", model.sequences},
      {"seq_len", model.seqLen},
      {"causal", model.causal}});
  {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, "model.json");
    std::error_code ec;
    llvm::raw_fd_ostream file(path, ec);
    if (ec)
      return makeError(path + ": cannot write: " + ec.message());
    file << json << "\n";
  }

  NormalStream normal(seed);
  const int64_t N = model.sequences, S = model.seqLen, D = model.headDim;
  // A positional code: nearby positions have similar codes, so queries
  // prefer nearby keys (what local patterns bet on).
  auto position = [&](int64_t t, int64_t d) {
    double frequency = std::pow(64.0, -double(d / 2) / double(D / 2 + 1));
    return d % 2 ? std::sin(t * frequency) : std::cos(t * frequency);
  };
  for (int64_t layer = 0; layer < model.layers; ++layer) {
    std::vector<double> sinkDirection(D);
    for (double &x : sinkDirection)
      x = normal.next() / std::sqrt(double(D));
    auto makeHeads = [&](int64_t heads, StringRef tensor) {
      std::vector<float> data(N * heads * S * D);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t h = 0; h < heads; ++h) {
          // Heads differ in how local they are and in value scale.
          double locality = 1.0 + 2.0 * double(h % 4) / 3.0;
          double valueScale = 0.5 + double(h) / double(heads);
          for (int64_t t = 0; t < S; ++t)
            for (int64_t d = 0; d < D; ++d) {
              double x = normal.next();
              if (tensor == "q")
                x = 0.6 * x + locality * position(t, d) + 2 * sinkDirection[d];
              else if (tensor == "k")
                x = 0.6 * x + locality * position(t, d) +
                    (t == 0 ? 6 * sinkDirection[d] : 0.0);
              else
                x *= valueScale;
              data[((n * heads + h) * S + t) * D + d] = float(x);
            }
        }
      return data;
    };
    for (StringRef tensor : {"q", "k", "v"}) {
      int64_t heads = tensor == "q" ? model.heads : model.kvHeads;
      if (llvm::Error error =
              writeNpy(activationPath(dir, layer, tensor),
                       expectedShape(model, tensor), makeHeads(heads, tensor)))
        return error;
    }
    std::vector<float> hidden(N * S * model.hidden);
    for (float &x : hidden)
      x = float(normal.next());
    if (llvm::Error error = writeNpy(activationPath(dir, layer, "x"),
                                     expectedShape(model, "x"), hidden))
      return error;
  }
  return llvm::Error::success();
}
