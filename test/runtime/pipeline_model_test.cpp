// A pipeline model (pipeline_model.h) on an in-process device group of
// three: micro-batches stream through the stages with the transfers
// between the devices' arenas (one from an input), a stage's failure ends
// the run with its status instead of leaving the later stages waiting, and
// malformed pipeline descriptions are refused.
#include "pipeline_model.h"
#include "test_util.h"

#include <memory>
#include <string>

using namespace weft_test;

namespace {

TEST(PipelineModel, MicroBatchesStreamThroughTheStages) {
  GroupPtr g = makeCpuGroup(3);
  CountingAllocator counting;
  weft_model_info_t info = pipelineModelInfo();
  weft_group_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_group_model_create(&info, g.get(), &counting.allocator, &raw)));
  GroupModelPtr model(raw);
  int before = counting.allocs;
  for (int round = 0; round < 5; ++round) {
    PipelineRun run;
    for (float &v : run.x)
      v += static_cast<float>(round);
    weft_tensor_view_t in = run.view(run.x), out = run.view(run.y);
    ASSERT_TRUE(isOk(weft_group_model_run(raw, &in, 1, &out, 1)));
    EXPECT_EQ(run.mismatch(), "") << "round " << round;
  }
  EXPECT_EQ(counting.allocs, before) << "a run allocated";
}

TEST(PipelineModel, AStagesFailureEndsTheRun) {
  GroupPtr g = makeCpuGroup(3);
  weft_model_info_t info = pipelineModelInfo();
  info.spmd_entry = failingPipeline;
  weft_group_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_group_model_create(&info, g.get(), nullptr, &raw)));
  GroupModelPtr model(raw);
  PipelineRun bad(/*large=*/true);
  weft_tensor_view_t in = bad.view(bad.x), out = bad.view(bad.y);
  Captured c = capture(weft_group_model_run(raw, &in, 1, &out, 1));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_EQ(c.message, "stage 1 refused a micro-batch");
  // The stages stayed in step: the next run works.
  PipelineRun good;
  in = good.view(good.x);
  out = good.view(good.y);
  ASSERT_TRUE(isOk(weft_group_model_run(raw, &in, 1, &out, 1)));
  EXPECT_EQ(good.mismatch(), "");
}

TEST(PipelineModel, MalformedTransfersAreRefused) {
  GroupPtr g = makeCpuGroup(3);
  weft_stage_transfer_t transfers[3];
  auto refused = [&](weft_stage_transfer_t t, int index) {
    weft_model_info_t info = pipelineModelInfo();
    for (int i = 0; i < 3; ++i)
      transfers[i] = kPipeTransfers[i];
    transfers[index] = t;
    info.transfers = transfers;
    weft_group_model_t *m = nullptr;
    Captured c = capture(weft_group_model_create(&info, g.get(), nullptr, &m));
    EXPECT_EQ(m, nullptr);
    return c;
  };
  Captured backwards = refused({1, 0, -1, 0, 64, 16}, 0);
  EXPECT_EQ(backwards.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(backwards.message.find("pipeline transfer 0 (stage 1 to 0, 16 bytes) is out of range"),
            std::string::npos)
      << backwards.message;
  EXPECT_EQ(refused({0, 1, -1, 0, 250, 16}, 0).code, WEFT_INVALID_ARGUMENT); // past the arena
  EXPECT_EQ(refused({0, 3, -1, 0, 64, 16}, 0).code, WEFT_INVALID_ARGUMENT);  // no stage 3
  EXPECT_EQ(refused({0, 2, 0, 0, 128, 64}, 1).code, WEFT_INVALID_ARGUMENT);  // not x's micro-batch
  weft_model_info_t info = pipelineModelInfo();
  info.num_micro_batches = 3; // 8 rows do not cut into 3
  weft_group_model_t *m = nullptr;
  Captured c = capture(weft_group_model_create(&info, g.get(), nullptr, &m));
  EXPECT_NE(c.message.find("cannot be cut into 3 equal parts"), std::string::npos) << c.message;
}

} // namespace
