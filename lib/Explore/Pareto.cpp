//===- Pareto.cpp - The exact front of per-layer schedules ----------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Both objectives are sums over layers, so dominance survives extension: if
// partial schedule A is no worse than B on layers [0, l) in cost and loss,
// then A + x is no worse than B + x for any choice x of the later layers.
// The front over layers [0, l] is therefore the front of (front over
// [0, l)) x (options of layer l), and only options on their own layer's
// front can appear. Each step enumerates |front| x |layer front| pairs, not
// the |options|^layers cross product.
//
//===----------------------------------------------------------------------===//

#include "attn/Explore/Explore.h"

#include <algorithm>
#include <cmath>

using namespace mlir::attn::explore;

namespace {
/// A partial schedule: its parent in the previous layer's front and its
/// option in this layer.
struct Partial {
  double cost, loss;
  int64_t parent, option;
};

/// Sorts by (cost, loss, then the tie-break key) and keeps the points that
/// strictly improve the loss: the front, by increasing cost.
template <typename T, typename Less>
std::vector<T> keepFront(std::vector<T> points, Less tieBreak) {
  std::stable_sort(points.begin(), points.end(), [&](const T &a, const T &b) {
    if (a.cost != b.cost)
      return a.cost < b.cost;
    if (a.loss != b.loss)
      return a.loss < b.loss;
    return tieBreak(a, b);
  });
  std::vector<T> front;
  for (T &point : points)
    if (front.empty() || point.loss < front.back().loss)
      front.push_back(std::move(point));
  return front;
}
} // namespace

llvm::Expected<std::vector<Schedule>>
mlir::attn::explore::paretoFront(llvm::ArrayRef<std::vector<Point>> layers,
                                 uint64_t maxCandidates) {
  // fronts[l]: the front over layers [0, l], each entry pointing into
  // fronts[l - 1].
  std::vector<std::vector<Partial>> fronts;
  std::vector<Partial> previous = {{0.0, 0.0, -1, -1}};
  for (auto [l, options] : llvm::enumerate(layers)) {
    if (options.empty())
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "layer %zu has no option", l);
    // Only this layer's own front can contribute.
    std::vector<Partial> own;
    for (auto [o, point] : llvm::enumerate(options))
      own.push_back({point.cost, point.loss, -1, int64_t(o)});
    own = keepFront(std::move(own), [](const Partial &a, const Partial &b) {
      return a.option < b.option;
    });
    uint64_t pairs = uint64_t(previous.size()) * own.size();
    if (pairs > maxCandidates)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "the front after layer %zu would need %llu candidate schedules "
          "(limit %llu): narrow the search space",
          l, (unsigned long long)pairs, (unsigned long long)maxCandidates);
    std::vector<Partial> candidates;
    candidates.reserve(pairs);
    for (auto [p, partial] : llvm::enumerate(previous))
      for (const Partial &option : own)
        candidates.push_back({partial.cost + option.cost,
                              partial.loss + option.loss, int64_t(p),
                              option.option});
    // Ties: the lexicographically smallest option list. Parents are in
    // front order, which is not lexicographic, so compare whole lists.
    auto optionsOf = [&](const Partial &partial) {
      std::vector<int64_t> list = {partial.option};
      for (int64_t p = partial.parent, level = int64_t(fronts.size()) - 1;
           p >= 0 && level >= 0; p = fronts[level][p].parent, --level)
        list.push_back(fronts[level][p].option);
      std::reverse(list.begin(), list.end());
      return list;
    };
    previous = keepFront(std::move(candidates),
                         [&](const Partial &a, const Partial &b) {
                           return optionsOf(a) < optionsOf(b);
                         });
    fronts.push_back(previous);
  }

  std::vector<Schedule> result;
  if (fronts.empty())
    return result;
  for (const Partial &last : fronts.back()) {
    Schedule schedule;
    schedule.cost = last.cost;
    schedule.loss = last.loss;
    schedule.options.resize(layers.size());
    const Partial *partial = &last;
    for (int64_t level = int64_t(layers.size()) - 1; level >= 0; --level) {
      schedule.options[level] = partial->option;
      if (level > 0)
        partial = &fronts[level - 1][partial->parent];
    }
    result.push_back(std::move(schedule));
  }
  return result;
}

std::vector<Schedule>
mlir::attn::explore::nondominated(std::vector<Schedule> schedules) {
  return keepFront(std::move(schedules),
                   [](const Schedule &a, const Schedule &b) {
                     return a.options < b.options;
                   });
}

std::vector<Schedule>
mlir::attn::explore::uniformFront(llvm::ArrayRef<std::vector<Point>> layers) {
  std::vector<Schedule> schedules;
  if (layers.empty())
    return schedules;
  size_t numOptions = layers.front().size();
  for (const std::vector<Point> &options : layers)
    numOptions = std::min(numOptions, options.size());
  for (size_t o = 0; o < numOptions; ++o) {
    Schedule schedule;
    for (const std::vector<Point> &options : layers) {
      schedule.options.push_back(o);
      schedule.cost += options[o].cost;
      schedule.loss += options[o].loss;
    }
    schedules.push_back(std::move(schedule));
  }
  return nondominated(std::move(schedules));
}
