// The three-stage pipeline of pipeline_model.h under `mpirun -np 3`, one
// stage per process: rank 0 holds the tensors, the last rank computes the
// outputs and sends them to rank 0, and a stage's failure reaches every
// process, which all return the same code and stay in step.
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

} // namespace
