// Tests for device groups and the in-process collectives: creation and its
// argument checks, every collective's values (uneven splits, in place, every
// reducible dtype, NaN), mismatched calls failing on every rank while the
// ranks stay in step, point to point in order, and a stress run.
#include "test_util.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace weft_test;

namespace {


// Runs body(rank) on one thread per rank; returns each rank's status.
std::vector<Captured> onEveryRank(weft_device_group_t *g,
                                  const std::function<weft_status_t(int32_t)> &body) {
  int32_t n = weft_device_group_size(g);
  std::vector<Captured> results(n);
  std::vector<std::thread> threads;
  for (int32_t r = 0; r < n; ++r)
    threads.emplace_back([&, r] { results[r] = capture(body(r)); });
  for (auto &t : threads)
    t.join();
  return results;
}

void expectAllOk(const std::vector<Captured> &results) {
  for (size_t r = 0; r < results.size(); ++r)
    EXPECT_TRUE(results[r].isNull) << "rank " << r << ": " << results[r].message;
}

TEST(DeviceGroup, CreateGivesDistinctDevicesWithTheirThreads) {
  GroupPtr g = makeCpuGroup(3, 2);
  ASSERT_TRUE(g);
  EXPECT_EQ(weft_device_group_size(g.get()), 3);
  weft_device_t *a = weft_device_group_device(g.get(), 0);
  weft_device_t *b = weft_device_group_device(g.get(), 2);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(weft_device_kind(a), WEFT_DEVICE_CPU);
  EXPECT_EQ(weft_device_num_threads(a), 2);
  EXPECT_EQ(weft_device_group_device(g.get(), 3), nullptr);
  EXPECT_EQ(weft_device_group_device(g.get(), -1), nullptr);
  EXPECT_EQ(weft_device_group_size(nullptr), 0);
  weft_device_group_destroy(nullptr);
}

TEST(DeviceGroup, ZeroThreadsSharesTheCpus) {
  GroupPtr g = makeCpuGroup(2, 0);
  ASSERT_TRUE(g);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  int32_t expected = online > 2 ? (int32_t)(online / 2) : 1;
  EXPECT_EQ(weft_device_num_threads(weft_device_group_device(g.get(), 1)), expected);
}

TEST(DeviceGroup, RejectsBadOptions) {
  weft_device_group_t *g = reinterpret_cast<weft_device_group_t *>(0x1);
  weft_cpu_device_group_options_t none{0, 1};
  Captured c = capture(weft_cpu_device_group_create(&none, nullptr, &g));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("num_devices"), std::string::npos) << c.message;
  EXPECT_EQ(g, nullptr);
  weft_cpu_device_group_options_t negative{2, -1};
  c = capture(weft_cpu_device_group_create(&negative, nullptr, &g));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("threads_per_device"), std::string::npos) << c.message;
  c = capture(weft_cpu_device_group_create(nullptr, nullptr, nullptr));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  // NULL options: one device.
  ASSERT_TRUE(isOk(weft_cpu_device_group_create(nullptr, nullptr, &g)));
  EXPECT_EQ(weft_device_group_size(g), 1);
  weft_device_group_destroy(g);
}

TEST(Collectives, AllReduceSumsInRankOrderWithUnevenChunks) {
  GroupPtr g = makeCpuGroup(3);
  const int64_t count = 7; // chunks of 3, 2 and 2 elements
  std::vector<std::vector<float>> send(3, std::vector<float>(count)),
      recv(3, std::vector<float>(count, -1.0f));
  for (int r = 0; r < 3; ++r)
    for (int64_t i = 0; i < count; ++i)
      send[r][i] = 0.1f * (float)(r + 1) + (float)i;
  expectAllOk(onEveryRank(g.get(), [&](int32_t r) {
    return weft_group_all_reduce(g.get(), r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM,
                                 send[r].data(), recv[r].data(), count);
  }));
  for (int64_t i = 0; i < count; ++i) {
    float expected = (send[0][i] + send[1][i]) + send[2][i];
    for (int r = 0; r < 3; ++r)
      EXPECT_EQ(recv[r][i], expected) << "rank " << r << " element " << i;
  }
}

TEST(Collectives, AllReduceInPlaceAndEveryOp) {
  GroupPtr g = makeCpuGroup(4);
  const int64_t count = 10;
  for (weft_reduce_op_t op :
       {WEFT_REDUCE_SUM, WEFT_REDUCE_PROD, WEFT_REDUCE_MIN, WEFT_REDUCE_MAX}) {
    std::vector<std::vector<int64_t>> buf(4, std::vector<int64_t>(count));
    for (int r = 0; r < 4; ++r)
      for (int64_t i = 0; i < count; ++i)
        buf[r][i] = (i % 3 - 1) * (r + 2) + i;
    std::vector<int64_t> expected(count);
    for (int64_t i = 0; i < count; ++i) {
      int64_t acc = buf[0][i];
      for (int r = 1; r < 4; ++r) {
        int64_t v = buf[r][i];
        acc = op == WEFT_REDUCE_SUM    ? acc + v
              : op == WEFT_REDUCE_PROD ? acc * v
              : op == WEFT_REDUCE_MIN  ? std::min(acc, v)
                                       : std::max(acc, v);
      }
      expected[i] = acc;
    }
    expectAllOk(onEveryRank(g.get(), [&](int32_t r) {
      return weft_group_all_reduce(g.get(), r, WEFT_DTYPE_I64, op, buf[r].data(),
                                   buf[r].data(), count);
    }));
    for (int r = 0; r < 4; ++r)
      EXPECT_EQ(buf[r], expected) << "op " << op << " rank " << r;
  }
}

TEST(Collectives, AllReduceIntegersWrapAndNaNWins) {
  GroupPtr g = makeCpuGroup(2);
  std::vector<std::vector<uint8_t>> u8 = {{200, 7}, {100, 250}}, u8out(2, {0, 0});
  std::vector<std::vector<int16_t>> i16 = {{30000}, {30000}}, i16out(2, {0});
  expectAllOk(onEveryRank(g.get(), [&](int32_t r) {
    weft_status_t s = weft_group_all_reduce(g.get(), r, WEFT_DTYPE_U8, WEFT_REDUCE_SUM,
                                            u8[r].data(), u8out[r].data(), 2);
    if (s)
      return s;
    return weft_group_all_reduce(g.get(), r, WEFT_DTYPE_I16, WEFT_REDUCE_PROD, i16[r].data(),
                                 i16out[r].data(), 1);
  }));
  EXPECT_EQ(u8out[1][0], (uint8_t)(200 + 100));
  EXPECT_EQ(u8out[0][1], (uint8_t)(7 + 250));
  EXPECT_EQ(i16out[0][0], (int16_t)(uint16_t)(30000u * 30000u));
  float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::vector<float>> f = {{1.0f, nan}, {nan, 2.0f}}, fout(2, {0, 0});
  for (weft_reduce_op_t op : {WEFT_REDUCE_MAX, WEFT_REDUCE_MIN}) {
    expectAllOk(onEveryRank(g.get(), [&](int32_t r) {
      return weft_group_all_reduce(g.get(), r, WEFT_DTYPE_F32, op, f[r].data(), fout[r].data(),
                                   2);
    }));
    for (int r = 0; r < 2; ++r) {
      EXPECT_TRUE(std::isnan(fout[r][0])) << "op " << op;
      EXPECT_TRUE(std::isnan(fout[r][1])) << "op " << op;
    }
  }
}

TEST(Collectives, ReduceScatterGivesEachRankItsBlock) {
  GroupPtr g = makeCpuGroup(3);
  const int64_t count = 2;
  std::vector<std::vector<double>> send(3, std::vector<double>(3 * count)),
      recv(3, std::vector<double>(count));
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 3 * count; ++i)
      send[r][i] = r * 100 + i;
  expectAllOk(onEveryRank(g.get(), [&](int32_t r) {
    return weft_group_reduce_scatter(g.get(), r, WEFT_DTYPE_F64, WEFT_REDUCE_SUM,
                                     send[r].data(), recv[r].data(), count);
  }));
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < count; ++i)
      EXPECT_EQ(recv[r][i], 300.0 + 3 * (r * count + i)) << r << " " << i;
}

TEST(Collectives, AllGatherAllToAllAndBroadcast) {
  GroupPtr g = makeCpuGroup(3);
  // all_gather, one rank in place.
  std::vector<std::vector<int32_t>> gathered(3, std::vector<int32_t>(6, -1));
  std::vector<std::vector<int32_t>> mine = {{10, 11}, {20, 21}, {30, 31}};
  gathered[1][2] = 20;
  gathered[1][3] = 21;
  expectAllOk(onEveryRank(g.get(), [&](int32_t r) {
    const void *send = r == 1 ? (const void *)(gathered[1].data() + 2) : mine[r].data();
    return weft_group_all_gather(g.get(), r, send, gathered[r].data(), 2 * sizeof(int32_t));
  }));
  for (int r = 0; r < 3; ++r)
    EXPECT_EQ(gathered[r], (std::vector<int32_t>{10, 11, 20, 21, 30, 31})) << r;
  // all_to_all: block j of rank r's send is r * 10 + j.
  std::vector<std::vector<int32_t>> send(3), recv(3, std::vector<int32_t>(3, -1));
  for (int r = 0; r < 3; ++r)
    send[r] = {r * 10 + 0, r * 10 + 1, r * 10 + 2};
  expectAllOk(onEveryRank(g.get(), [&](int32_t r) {
    return weft_group_all_to_all(g.get(), r, send[r].data(), recv[r].data(), sizeof(int32_t));
  }));
  for (int r = 0; r < 3; ++r)
    for (int q = 0; q < 3; ++q)
      EXPECT_EQ(recv[r][q], q * 10 + r) << r << " " << q;
  // broadcast from rank 2.
  std::vector<std::vector<char>> buf(3, std::vector<char>(5, 'x'));
  std::memcpy(buf[2].data(), "weft", 5);
  expectAllOk(onEveryRank(g.get(), [&](int32_t r) {
    return weft_group_broadcast(g.get(), r, 2, buf[r].data(), 5);
  }));
  for (int r = 0; r < 3; ++r)
    EXPECT_STREQ(buf[r].data(), "weft") << r;
}

TEST(Collectives, MismatchFailsOnEveryRankAndTheRanksStayInStep) {
  GroupPtr g = makeCpuGroup(3);
  std::vector<std::vector<float>> a(3, std::vector<float>(8, 1.0f)),
      out(3, std::vector<float>(8, 0.0f));
  // Rank 1 asks for another count: nobody moves data, everybody fails.
  auto results = onEveryRank(g.get(), [&](int32_t r) {
    return weft_group_all_reduce(g.get(), r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, a[r].data(),
                                 out[r].data(), r == 1 ? 4 : 8);
  });
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(results[r].code, WEFT_INVALID_ARGUMENT) << r;
    EXPECT_NE(results[r].message.find("collective mismatch"), std::string::npos)
        << results[r].message;
    EXPECT_EQ(out[r][0], 0.0f);
  }
  // Rank 2 calls a broadcast instead.
  results = onEveryRank(g.get(), [&](int32_t r) {
    if (r == 2)
      return weft_group_broadcast(g.get(), r, 0, a[r].data(), 8);
    return weft_group_all_reduce(g.get(), r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, a[r].data(),
                                 out[r].data(), 8);
  });
  for (int r = 0; r < 3; ++r)
    EXPECT_EQ(results[r].code, WEFT_INVALID_ARGUMENT) << r;
  // Rank 0 passes a dtype that cannot be reduced: it says why, the others
  // name it.
  results = onEveryRank(g.get(), [&](int32_t r) {
    return weft_group_all_reduce(g.get(), r, r == 0 ? WEFT_DTYPE_BOOL : WEFT_DTYPE_F32,
                                 WEFT_REDUCE_SUM, a[r].data(), out[r].data(), 8);
  });
  EXPECT_NE(results[0].message.find("cannot be reduced"), std::string::npos)
      << results[0].message;
  EXPECT_NE(results[1].message.find("rank 0 passed invalid arguments"), std::string::npos)
      << results[1].message;
  // Still in step: the next collective works.
  expectAllOk(onEveryRank(g.get(), [&](int32_t r) {
    return weft_group_all_reduce(g.get(), r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, a[r].data(),
                                 out[r].data(), 8);
  }));
  for (int r = 0; r < 3; ++r)
    EXPECT_EQ(out[r][7], 3.0f);
}

TEST(Collectives, RejectsOverlapsAndBadRanksWithoutWaiting) {
  GroupPtr g = makeCpuGroup(2);
  std::vector<float> buf(4);
  Captured c = capture(weft_group_all_reduce(g.get(), 2, WEFT_DTYPE_F32, WEFT_REDUCE_SUM,
                                             buf.data(), buf.data(), 4));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("rank 2 is outside"), std::string::npos) << c.message;
  c = capture(weft_group_all_reduce(nullptr, 0, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, buf.data(),
                                    buf.data(), 4));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  // reduce_scatter in place is refused on the rank that asks, and fails its
  // peer instead of leaving it waiting.
  std::vector<std::vector<float>> s(2, std::vector<float>(4, 1.0f));
  auto results = onEveryRank(g.get(), [&](int32_t r) {
    float *recv = r == 0 ? s[0].data() : buf.data();
    return weft_group_reduce_scatter(g.get(), r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, s[r].data(),
                                     recv, 2);
  });
  EXPECT_NE(results[0].message.find("must not overlap"), std::string::npos)
      << results[0].message;
  EXPECT_EQ(results[1].code, WEFT_INVALID_ARGUMENT);
}

TEST(PointToPoint, MessagesArriveInOrderAndSizesAreChecked) {
  GroupPtr g = makeCpuGroup(2);
  std::vector<int> got;
  auto results = onEveryRank(g.get(), [&](int32_t r) -> weft_status_t {
    for (int k = 0; k < 50; ++k) {
      if (r == 0) {
        int v = k * 7;
        if (weft_status_t s = weft_group_send(g.get(), 0, 1, &v, sizeof(v)))
          return s;
      } else {
        int v = -1;
        if (weft_status_t s = weft_group_recv(g.get(), 1, 0, &v, sizeof(v)))
          return s;
        got.push_back(v);
      }
    }
    return nullptr;
  });
  expectAllOk(results);
  ASSERT_EQ(got.size(), 50u);
  for (int k = 0; k < 50; ++k)
    EXPECT_EQ(got[k], k * 7);
  // A receiver expecting another size: both sides fail, nothing is copied.
  double d = 1.5, into = 0;
  results = onEveryRank(g.get(), [&](int32_t r) {
    return r == 0 ? weft_group_send(g.get(), 0, 1, &d, sizeof(d))
                  : weft_group_recv(g.get(), 1, 0, &into, sizeof(float));
  });
  EXPECT_NE(results[0].message.find("expected another size"), std::string::npos)
      << results[0].message;
  EXPECT_NE(results[1].message.find("which sent 8"), std::string::npos) << results[1].message;
  EXPECT_EQ(into, 0.0);
  Captured c = capture(weft_group_send(g.get(), 1, 1, &d, sizeof(d)));
  EXPECT_NE(c.message.find("not another rank"), std::string::npos) << c.message;
}

TEST(Collectives, StressManyRoundsStayConsistent) {
  GroupPtr g = makeCpuGroup(4);
  const int rounds = 2000;
  const int64_t count = 33;
  std::vector<std::vector<int32_t>> buf(4, std::vector<int32_t>(count));
  expectAllOk(onEveryRank(g.get(), [&](int32_t r) -> weft_status_t {
    for (int k = 0; k < rounds; ++k) {
      for (int64_t i = 0; i < count; ++i)
        buf[r][i] = r + k + (int32_t)i;
      if (weft_status_t s = weft_group_all_reduce(g.get(), r, WEFT_DTYPE_I32, WEFT_REDUCE_SUM,
                                                  buf[r].data(), buf[r].data(), count))
        return s;
      for (int64_t i = 0; i < count; ++i)
        if (buf[r][i] != 6 + 4 * (k + (int32_t)i))
          return weft_status_create(WEFT_INTERNAL, "round %d element %lld: %d", k,
                                    (long long)i, buf[r][i]);
    }
    return nullptr;
  }));
}

// A 2 x 2 grid: rows {0,1}, {2,3} (colors by r / 2) and columns {0,2},
// {1,3} (colors by r % 2). Each sub-group reduces, gathers and broadcasts
// among its own ranks only, in their order.
TEST(Split, SubGroupsMeetOnlyTheirOwnRanks) {
  GroupPtr g = makeCpuGroup(4, 1);
  ASSERT_TRUE(g);
  const int32_t rowColors[] = {0, 0, 1, 1}, columnColors[] = {5, 9, 5, 9};
  weft_device_group_t *rows = nullptr, *columns = nullptr;
  ASSERT_TRUE(isOk(weft_device_group_split(g.get(), rowColors, nullptr, &rows)));
  GroupPtr rowsOwned(rows);
  ASSERT_TRUE(isOk(weft_device_group_split(g.get(), columnColors, nullptr, &columns)));
  GroupPtr columnsOwned(columns);
  EXPECT_EQ(weft_device_group_size(rows), 4);
  EXPECT_EQ(weft_device_group_device(rows, 3), weft_device_group_device(g.get(), 3));
  std::vector<float> rowSum(4), columnSum(4), gathered(8), told(4);
  expectAllOk(onEveryRank(g.get(), [&](int32_t r) -> weft_status_t {
    float mine = (float)(1 << r);
    weft_status_t s = weft_group_all_reduce(rows, r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, &mine,
                                            &rowSum[r], 1);
    if (!s)
      s = weft_group_all_reduce(columns, r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, &mine,
                                &columnSum[r], 1);
    if (!s)
      s = weft_group_all_gather(columns, r, &mine, &gathered[2 * r], sizeof(float));
    told[r] = (float)(10 * r);
    if (!s) // each row from its second rank
      s = weft_group_broadcast(rows, r, r / 2 * 2 + 1, &told[r], sizeof(float));
    return s;
  }));
  EXPECT_EQ(rowSum, (std::vector<float>{3, 3, 12, 12}));
  EXPECT_EQ(columnSum, (std::vector<float>{5, 10, 5, 10}));
  // Column {0, 2} gathers 1 then 4; column {1, 3} gathers 2 then 8.
  EXPECT_EQ(gathered, (std::vector<float>{1, 4, 2, 8, 1, 4, 2, 8}));
  EXPECT_EQ(told, (std::vector<float>{10, 10, 30, 30}));
}

TEST(Split, ChecksItsArgumentsAndRootsOutsideTheSubGroup) {
  GroupPtr g = makeCpuGroup(2, 1);
  ASSERT_TRUE(g);
  const int32_t alone[] = {0, 1}, negative[] = {0, -1};
  weft_device_group_t *split = nullptr;
  Captured c = capture(weft_device_group_split(g.get(), negative, nullptr, &split));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("negative color"), std::string::npos) << c.message;
  EXPECT_EQ(split, nullptr);
  c = capture(weft_device_group_split(nullptr, alone, nullptr, &split));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  ASSERT_TRUE(isOk(weft_device_group_split(g.get(), alone, nullptr, &split)));
  GroupPtr owned(split);
  weft_device_group_t *again = nullptr;
  c = capture(weft_device_group_split(split, alone, nullptr, &again));
  EXPECT_NE(c.message.find("split its parent"), std::string::npos) << c.message;
  // Each rank is alone: a collective returns at once, and a root of the
  // other sub-group is refused.
  float x = 2, y = 0;
  ASSERT_TRUE(isOk(weft_group_all_reduce(split, 1, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, &x, &y, 1)));
  EXPECT_EQ(y, 2);
  c = capture(weft_group_broadcast(split, 1, 0, &x, sizeof(x)));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("in this sub-group"), std::string::npos) << c.message;
  // Point to point goes through the group.
  expectAllOk(onEveryRank(g.get(), [&](int32_t r) -> weft_status_t {
    float v = 7;
    return r == 0 ? weft_group_send(split, 0, 1, &v, sizeof(v))
                  : weft_group_recv(split, 1, 0, &y, sizeof(y));
  }));
  EXPECT_EQ(y, 7);
}

} // namespace
