// Tests for the MPI device group, run by CTest under `mpirun -np 2`: every
// process runs every test at its own rank. Creation (the world size against
// an expected device count), each collective's values, in place, mismatched
// calls failing on every rank while the ranks stay in step, and point to
// point in order with size checks; a two-device model (spmd_model.h) run
// with one device per process, rank 0 holding the tensors.
#include "spmd_model.h"
#include "test_util.h"
#include "weft/runtime_mpi.h"

#include <cstring>
#include <utility>
#include <vector>

using namespace weft_test;

namespace {

GroupPtr makeGroup() {
  weft_mpi_device_group_options_t options{1, 0};
  weft_device_group_t *g = nullptr;
  EXPECT_TRUE(isOk(weft_mpi_device_group_create(&options, nullptr, &g)));
  return GroupPtr(g);
}

TEST(MpiGroup, OneDevicePerRank) {
  GroupPtr g = makeGroup();
  ASSERT_TRUE(g);
  int32_t n = weft_device_group_size(g.get()), r = weft_mpi_device_group_rank(g.get());
  ASSERT_EQ(n, 2) << "run under mpirun -np 2";
  ASSERT_TRUE(r == 0 || r == 1);
  EXPECT_NE(weft_device_group_device(g.get(), r), nullptr);
  EXPECT_EQ(weft_device_group_device(g.get(), 1 - r), nullptr);
  EXPECT_EQ(weft_device_num_threads(weft_device_group_device(g.get(), r)), 1);
  // The other rank lives in another process.
  float x = 0;
  Captured c = capture(
      weft_group_all_reduce(g.get(), 1 - r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, &x, &x, 1));
  EXPECT_NE(c.message.find("not in this process"), std::string::npos) << c.message;
  EXPECT_EQ(weft_mpi_device_group_rank(nullptr), -1);
}

// GPUs across processes: without a GPU on this machine every rank fails
// alike (none waits forever for a peer's NCCL id), and the options are
// checked first.
TEST(MpiGpuGroup, MissingGpusFailEveryRank) {
  weft_device_t *probe = nullptr;
  Captured gpu = capture(weft_cuda_device_create(nullptr, nullptr, &probe));
  weft_device_destroy(probe);
  // Both ranks skip or neither: the machine is the same.
  if (gpu.isNull)
    GTEST_SKIP() << "this machine has a GPU";
  weft_mpi_cuda_device_group_options_t options = {2, 0, nullptr};
  weft_device_group_t *g = nullptr;
  Captured c = capture(weft_mpi_cuda_device_group_create(&options, nullptr, &g));
  EXPECT_EQ(c.code, WEFT_UNAVAILABLE);
  EXPECT_EQ(c.message.rfind("no CUDA device", 0), 0u) << c.message;
  EXPECT_EQ(g, nullptr);
  // The group still works for the ranks afterwards (nothing left pending).
  GroupPtr cpu = makeGroup();
  int32_t r = weft_mpi_device_group_rank(cpu.get()), x = r + 1, sum = 0;
  ASSERT_TRUE(isOk(
      weft_group_all_reduce(cpu.get(), r, WEFT_DTYPE_I32, WEFT_REDUCE_SUM, &x, &sum, 1)));
  EXPECT_EQ(sum, 3);
  weft_mpi_cuda_device_group_options_t bad = {2, 1, nullptr};
  c = capture(weft_mpi_cuda_device_group_create(&bad, nullptr, &g));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("1 ordinals but no array"), std::string::npos) << c.message;
}

TEST(MpiGroup, WorldSizeMustMatchTheExpectedDevices) {
  weft_mpi_device_group_options_t options{1, 3};
  weft_device_group_t *g = nullptr;
  Captured c = capture(weft_mpi_device_group_create(&options, nullptr, &g));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("expects 3 devices, but MPI runs 2 processes (start it with "
                           "mpirun -np 3)"),
            std::string::npos)
      << c.message;
  EXPECT_EQ(g, nullptr);
}

TEST(MpiGroup, CollectivesGiveTheirValues) {
  GroupPtr g = makeGroup();
  int32_t r = weft_mpi_device_group_rank(g.get());
  // all_reduce, in place, i64 max and f32 sum.
  std::vector<int64_t> m = {r * 10, -r, 7};
  ASSERT_TRUE(isOk(weft_group_all_reduce(g.get(), r, WEFT_DTYPE_I64, WEFT_REDUCE_MAX, m.data(),
                                         m.data(), 3)));
  EXPECT_EQ(m, (std::vector<int64_t>{10, 0, 7}));
  std::vector<float> f = {0.5f + r, 2.0f}, fs(2);
  ASSERT_TRUE(isOk(weft_group_all_reduce(g.get(), r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, f.data(),
                                         fs.data(), 2)));
  EXPECT_EQ(fs, (std::vector<float>{2.0f, 4.0f}));
  // reduce_scatter: rank r gets block r of the sums.
  std::vector<int32_t> s = {1 + r, 2 + r, 3 + r, 4 + r}, block(2);
  ASSERT_TRUE(isOk(weft_group_reduce_scatter(g.get(), r, WEFT_DTYPE_I32, WEFT_REDUCE_SUM,
                                             s.data(), block.data(), 2)));
  EXPECT_EQ(block, r == 0 ? (std::vector<int32_t>{3, 5}) : (std::vector<int32_t>{7, 9}));
  // all_gather in place.
  std::vector<int16_t> all(4, -1);
  all[2 * r] = (int16_t)(100 + r);
  all[2 * r + 1] = (int16_t)(200 + r);
  ASSERT_TRUE(isOk(weft_group_all_gather(g.get(), r, all.data() + 2 * r, all.data(),
                                         2 * sizeof(int16_t))));
  EXPECT_EQ(all, (std::vector<int16_t>{100, 200, 101, 201}));
  // all_to_all: block j of rank r's send is 10 * r + j.
  std::vector<int32_t> send = {10 * r, 10 * r + 1}, recv(2, -1);
  ASSERT_TRUE(isOk(
      weft_group_all_to_all(g.get(), r, send.data(), recv.data(), sizeof(int32_t))));
  EXPECT_EQ(recv, (std::vector<int32_t>{r, 10 + r}));
  // broadcast from rank 1.
  char text[8] = "none";
  if (r == 1)
    std::strcpy(text, "weft");
  ASSERT_TRUE(isOk(weft_group_broadcast(g.get(), r, 1, text, sizeof(text))));
  EXPECT_STREQ(text, "weft");
}

TEST(MpiGroup, MismatchFailsEveryRankAndTheRanksStayInStep) {
  GroupPtr g = makeGroup();
  int32_t r = weft_mpi_device_group_rank(g.get());
  std::vector<double> a(8, 1.0 + r), out(8, 0.0);
  Captured c = capture(weft_group_all_reduce(g.get(), r, WEFT_DTYPE_F64, WEFT_REDUCE_SUM,
                                             a.data(), out.data(), r == 1 ? 4 : 8));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("collective mismatch"), std::string::npos) << c.message;
  EXPECT_EQ(out[0], 0.0);
  // One rank's own invalid arguments fail the other one too.
  c = capture(weft_group_all_reduce(g.get(), r, r == 0 ? WEFT_DTYPE_BOOL : WEFT_DTYPE_F64,
                                    WEFT_REDUCE_SUM, a.data(), out.data(), 8));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find(r == 0 ? "cannot be reduced" : "a rank passed invalid arguments"),
            std::string::npos)
      << c.message;
  ASSERT_TRUE(isOk(weft_group_all_reduce(g.get(), r, WEFT_DTYPE_F64, WEFT_REDUCE_SUM, a.data(),
                                         out.data(), 8)));
  EXPECT_EQ(out[7], 3.0);
}

TEST(MpiGroup, PointToPointInOrderWithSizeChecks) {
  GroupPtr g = makeGroup();
  int32_t r = weft_mpi_device_group_rank(g.get());
  for (int k = 0; k < 20; ++k) {
    int v = r == 0 ? k * 3 : -1;
    if (r == 0) {
      ASSERT_TRUE(isOk(weft_group_send(g.get(), 0, 1, &v, sizeof(v))));
    } else {
      ASSERT_TRUE(isOk(weft_group_recv(g.get(), 1, 0, &v, sizeof(v))));
      EXPECT_EQ(v, k * 3);
    }
  }
  double d = 2.5, into = 0;
  Captured c = capture(r == 0 ? weft_group_send(g.get(), 0, 1, &d, sizeof(d))
                              : weft_group_recv(g.get(), 1, 0, &into, sizeof(float)));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find(r == 0 ? "expected another size" : "which sent 8"),
            std::string::npos)
      << c.message;
  EXPECT_EQ(into, 0.0);
}

/// Runs the spmd model at rank r (rank 0 with the tensors): it succeeds
/// and rank 0 gets the right outputs.
void expectRunsWell(weft_group_model_t *model, int32_t r) {
  SpmdRun run;
  auto in = run.inputs();
  auto out = run.outputs();
  if (r == 0) {
    ASSERT_TRUE(isOk(weft_group_model_run(model, in.data(), in.size(), out.data(), out.size())));
    EXPECT_EQ(run.mismatch(), "");
  } else {
    ASSERT_TRUE(isOk(weft_group_model_run(model, nullptr, 0, nullptr, 0)));
  }
}

TEST(MpiGroup, ModelRunsOneDevicePerProcess) {
  GroupPtr g = makeGroup();
  int32_t r = weft_mpi_device_group_rank(g.get());
  weft_model_info_t info = spmdModelInfo();
  weft_group_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_group_model_create(&info, g.get(), nullptr, &raw)));
  GroupModelPtr model(raw);
  for (int round = 0; round < 2; ++round)
    expectRunsWell(raw, r);
  // Rank 0's views fail their checks: every rank returns an error, no data moves.
  SpmdRun run;
  auto in = run.inputs();
  auto out = run.outputs();
  in[2].shape[0] = 5;
  Captured c = capture(r == 0 ? weft_group_model_run(raw, in.data(), in.size(), out.data(),
                                                     out.size())
                              : weft_group_model_run(raw, nullptr, 0, nullptr, 0));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find(r == 0 ? "input 'w': expected shape [6] but got [5]"
                                  : "rank 0 rejected its tensors"),
            std::string::npos)
      << c.message;
}

// Rank 1's run fails after the entry's collective, or before a collective
// (of the group or of its split) or a message that rank 0 waits in: rank
// 0 does not wait forever but fails with "another device failed", and the
// group still runs the model afterwards, twice over.
TEST(MpiGroup, ADevicesFailureReachesEveryProcess) {
  GroupPtr g = makeGroup();
  int32_t r = weft_mpi_device_group_rank(g.get());
  weft_model_info_t info = spmdModelInfo();
  weft_group_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_group_model_create(&info, g.get(), nullptr, &raw)));
  GroupModelPtr model(raw);
  for (int round = 0; round < 2; ++round) {
    for (const auto &[entry, message] : kRankOneFailures) {
      info.spmd_entry = entry;
      SpmdRun run;
      auto in = run.inputs();
      auto out = run.outputs();
      Captured c = capture(r == 0 ? weft_group_model_run(raw, in.data(), in.size(),
                                                         out.data(), out.size())
                                  : weft_group_model_run(raw, nullptr, 0, nullptr, 0));
      EXPECT_EQ(c.code, WEFT_INTERNAL) << message;
      if (r == 1)
        EXPECT_EQ(c.message, message);
      else
        EXPECT_EQ(c.message, "model 'spmd_test': another device of the group failed this run "
                             "(its process reports why)");
    }
    info.spmd_entry = spmdEntry;
    expectRunsWell(raw, r);
  }
}

TEST(MpiGroup, ModelNeedsAsManyProcessesAsDevices) {
  GroupPtr g = makeGroup();
  weft_tensor_info_t io[] = {kSpmdInputs[0]};
  io[0].split_axis = 0;
  weft_model_info_t info = spmdModelInfo();
  info.num_devices = 4;
  info.num_inputs = 1;
  info.inputs = io;
  info.num_outputs = 1;
  info.outputs = io;
  weft_group_model_t *raw = nullptr;
  Captured c = capture(weft_group_model_create(&info, g.get(), nullptr, &raw));
  EXPECT_NE(c.message.find("compiled for 4 devices but the group has 2 (MPI processes: run it "
                           "with mpirun -np matching the model)"),
            std::string::npos)
      << c.message;
}

// Split into one sub-group per rank and into one of both ranks: the
// collectives of each meet only its ranks, and messages go through the
// group.
TEST(MpiGroup, SplitsMeetOnlyTheirOwnRanks) {
  GroupPtr g = makeGroup();
  ASSERT_TRUE(g);
  int32_t r = weft_mpi_device_group_rank(g.get());
  const int32_t alone[] = {0, 1}, together[] = {3, 3};
  weft_device_group_t *a = nullptr, *t = nullptr;
  ASSERT_TRUE(isOk(weft_device_group_split(g.get(), alone, nullptr, &a)));
  GroupPtr aOwned(a);
  ASSERT_TRUE(isOk(weft_device_group_split(g.get(), together, nullptr, &t)));
  GroupPtr tOwned(t);
  float mine = (float)(r + 1), sum = 0, pair[2] = {0, 0};
  ASSERT_TRUE(isOk(weft_group_all_reduce(a, r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, &mine, &sum, 1)));
  EXPECT_EQ(sum, mine);
  ASSERT_TRUE(isOk(weft_group_all_reduce(t, r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, &mine, &sum, 1)));
  EXPECT_EQ(sum, 3);
  ASSERT_TRUE(isOk(weft_group_all_gather(t, r, &mine, pair, sizeof(float))));
  EXPECT_EQ(pair[0], 1);
  EXPECT_EQ(pair[1], 2);
  float told = (float)(10 * r);
  ASSERT_TRUE(isOk(weft_group_broadcast(t, r, 1, &told, sizeof(told))));
  EXPECT_EQ(told, 10);
  Captured c = capture(weft_group_broadcast(a, r, 1 - r, &told, sizeof(told)));
  EXPECT_NE(c.message.find("in this sub-group"), std::string::npos) << c.message;
  float v = 5, got = 0;
  ASSERT_TRUE(isOk(r == 0 ? weft_group_send(a, 0, 1, &v, sizeof(v))
                          : weft_group_recv(a, 1, 0, &got, sizeof(got))));
  if (r == 1) {
    EXPECT_EQ(got, 5);
  }
}

} // namespace
