//===- ScheduleTest.cpp - Tests of the JSON form of schedules -------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/Transforms/Schedule.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::attn;

namespace {
class ScheduleTest : public ::testing::Test {
protected:
  ScheduleTest() { context.loadDialect<AttnDialect>(); }
  MLIRContext context;
};
} // namespace

TEST_F(ScheduleTest, PrintedJSONParsesBackToTheSameSchedule) {
  auto schedule = dyn_cast_or_null<ScheduleAttr>(parseAttribute(
      "#attn.schedule<[#attn.layer<0, budget = 1.0>, "
      "#attn.layer<3, budget = 0.3333333333333333, pattern = "
      "#attn.union<[#attn.global<tokens = 4>, #attn.local<window = 63, "
      "causal>]>>, #attn.layer<7, pattern = #attn.per_head<[#attn.causal, "
      "#attn.random_blocks<density = 0.1, seed = 18446744073709551615>]>>, "
      "#attn.layer<9, threshold = -0.25>]>",
      &context));
  ASSERT_TRUE(schedule);
  std::string json = printScheduleJSON(schedule);
  std::string error;
  ScheduleAttr parsed = parseScheduleJSON(json, &context, error);
  ASSERT_TRUE(parsed) << error << "\n" << json;
  EXPECT_EQ(parsed, schedule) << json;
}

TEST_F(ScheduleTest, ErrorsNameTheEntryAndField) {
  struct Case {
    const char *json;
    const char *error;
  } cases[] = {
      {"[1, 2]", "expected an object with a \"layers\" array"},
      {"{\"layers\": [7]}", "layers[0]: expected an object"},
      {"{\"layers\": [{\"budget\": 0.5}]}",
       "layers[0]: expected an integer \"layer\""},
      {"{\"layers\": [{\"layer\": 0, \"budget\": \"half\"}]}",
       "layers[0]: expected a number for \"budget\""},
      {"{\"layers\": [{\"layer\": 0, \"threshold\": \"high\"}]}",
       "layers[0]: expected a number for \"threshold\""},
      {"{\"layers\": [{\"layer\": 0, \"pattern\": 3}]}",
       "layers[0]: expected a string for \"pattern\""},
      {"{\"layers\": [{\"layer\": 0, \"pattern\": \"#attn.budget<0.5>\"}]}",
       "layers[0]: \"#attn.budget<0.5>\" is not an attn pattern"},
      {"{\"layers\": [{\"layer\": 0}]}",
       "layers[0]: #attn.layer 0 sets no budget, pattern or threshold"},
      {"{\"layers\": [{\"layer\": 1, \"budget\": 0.5}, "
       "{\"layer\": 1, \"budget\": 0.25}]}",
       "#attn.schedule names layer 1 more than once"},
  };
  for (const Case &c : cases) {
    std::string error;
    EXPECT_FALSE(parseScheduleJSON(c.json, &context, error)) << c.json;
    EXPECT_NE(error.find(c.error), std::string::npos)
        << "input: " << c.json << "\nerror: " << error
        << "\nexpected to contain: " << c.error;
  }
}
