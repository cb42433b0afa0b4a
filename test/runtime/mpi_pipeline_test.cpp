// The three-stage pipeline of pipeline_model.h under `mpirun -np 3`, one
// stage per process: rank 0 holds the tensors, the last rank computes the
// outputs and sends them to rank 0, and a stage's failure reaches every
// process, which all return the same code and stay in step. And a failed
// rank's notes meeting sub-groups: only the waits it takes part in give
// up.
#include "internal.h"
#include "pipeline_model.h"
#include "test_util.h"
#include "weft/runtime_mpi.h"

#include <memory>

using namespace weft_test;

namespace {

TEST(MpiPipeline, StagesRunOnePerProcess) {
  weft_mpi_device_group_options_t options{1, 3};
  weft_device_group_t *rawGroup = nullptr;
  ASSERT_TRUE(isOk(weft_mpi_device_group_create(&options, nullptr, &rawGroup)))
      << "run under mpirun -np 3";
  GroupPtr group(rawGroup);
  int32_t r = weft_mpi_device_group_rank(rawGroup);
  for (bool failing : {false, true}) {
    weft_model_info_t info = pipelineModelInfo();
    if (failing)
      info.spmd_entry = failingPipeline;
    weft_group_model_t *raw = nullptr;
    ASSERT_TRUE(isOk(weft_group_model_create(&info, rawGroup, nullptr, &raw)));
    GroupModelPtr model(raw);
    for (int round = 0; round < 3; ++round) {
      bool large = failing && round == 1;
      PipelineRun run(large);
      weft_tensor_view_t in = run.view(run.x), out = run.view(run.y);
      Captured c = capture(r == 0 ? weft_group_model_run(raw, &in, 1, &out, 1)
                                  : weft_group_model_run(raw, nullptr, 0, nullptr, 0));
      if (large) {
        EXPECT_NE(c.code, WEFT_OK) << "rank " << r;
        if (r == 1) {
          EXPECT_EQ(c.message, "stage 1 refused a micro-batch");
        } else {
          EXPECT_NE(c.message.find("another device of the group failed"), std::string::npos)
              << c.message;
        }
        continue;
      }
      ASSERT_EQ(c.code, WEFT_OK) << c.message;
      if (r == 0) {
        EXPECT_EQ(run.mismatch(), "") << "round " << round;
      }
    }
  }
}

// Rank 2 fails (its run aborted: a note to every process). Ranks 0 and 1,
// a sub-group without it, still sum among themselves (a note must not end
// a wait that the failed rank takes no part in, or one of them could give
// up an agreement the other completed and leave it waiting in the data
// phase); a sum of the whole group then fails on every rank. Every process
// learns at the end of the run that it failed, the group and the split
// recover, and the next sums work.
TEST(MpiNotes, OnlyTheWaitsAFailedRankTakesPartInGiveUp) {
  weft_mpi_device_group_options_t options{1, 3};
  weft_device_group_t *rawGroup = nullptr;
  ASSERT_TRUE(isOk(weft_mpi_device_group_create(&options, nullptr, &rawGroup)));
  GroupPtr group(rawGroup);
  int32_t r = weft_mpi_device_group_rank(rawGroup);
  const int32_t colors[] = {0, 0, 1};
  weft_device_group_t *rawSplit = nullptr;
  ASSERT_TRUE(isOk(weft_device_group_split(rawGroup, colors, nullptr, &rawSplit)));
  GroupPtr split(rawSplit);
  for (int round = 0; round < 2; ++round) {
    float one = 1, sum = 0;
    if (r == 2)
      weft_group_abort(rawGroup);
    if (r < 2) {
      ASSERT_TRUE(isOk(weft_group_all_reduce(rawSplit, r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, &one,
                                             &sum, 1)));
      EXPECT_EQ(sum, 2);
    }
    Captured c = capture(
        weft_group_all_reduce(rawGroup, r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, &one, &sum, 1));
    EXPECT_EQ(c.code, WEFT_UNAVAILABLE) << "rank " << r;
    EXPECT_NE(c.message.find("another rank of the run failed"), std::string::npos) << c.message;
    bool any = false, interrupted = false;
    ASSERT_TRUE(isOk(rawGroup->vtable->conclude(rawGroup, r == 2, &any, &interrupted)));
    EXPECT_TRUE(any);
    EXPECT_EQ(interrupted, r != 2);
    weft_group_recover(rawGroup);
    weft_group_recover(rawSplit);
    ASSERT_TRUE(isOk(
        weft_group_all_reduce(rawGroup, r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, &one, &sum, 1)));
    EXPECT_EQ(sum, 3);
    ASSERT_TRUE(isOk(
        weft_group_all_reduce(rawSplit, r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, &one, &sum, 1)));
    EXPECT_EQ(sum, r < 2 ? 2 : 1);
    ASSERT_TRUE(isOk(rawGroup->vtable->conclude(rawGroup, false, &any, &interrupted)));
    EXPECT_FALSE(any);
  }
}

} // namespace
