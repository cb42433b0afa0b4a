// Tests for arenas: alignment, zero size, allocator use and failures.
#include "test_util.h"

#include <cstdint>
#include <cstring>

using namespace weft_test;

TEST(Arena, AlignedWritableBlock) {
  for (size_t alignment : {size_t(1), size_t(16), size_t(64), size_t(128),
                           size_t(4096)}) {
    weft_arena_t *arena = nullptr;
    ASSERT_TRUE(isOk(weft_arena_create(nullptr, 1000, alignment, &arena)));
    ASSERT_NE(arena, nullptr);
    void *data = weft_arena_data(arena);
    ASSERT_NE(data, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(data) % alignment, 0u) << alignment;
    EXPECT_EQ(weft_arena_size(arena), 1000u);
    std::memset(data, 0x5a, 1000);
    weft_arena_destroy(arena);
  }
}

TEST(Arena, ZeroSizeIsAllowed) {
  weft_arena_t *arena = nullptr;
  ASSERT_TRUE(isOk(weft_arena_create(nullptr, 0, 64, &arena)));
  ASSERT_NE(arena, nullptr);
  EXPECT_EQ(weft_arena_size(arena), 0u);
  weft_arena_destroy(arena);
}

TEST(Arena, NullArenaAccessors) {
  EXPECT_EQ(weft_arena_data(nullptr), nullptr);
  EXPECT_EQ(weft_arena_size(nullptr), 0u);
  weft_arena_destroy(nullptr);
}

TEST(Arena, InvalidArguments) {
  Captured noOut = capture(weft_arena_create(nullptr, 16, 64, nullptr));
  EXPECT_EQ(noOut.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(noOut.message.find("out_arena"), std::string::npos)
      << noOut.message;

  for (size_t alignment : {size_t(0), size_t(3), size_t(96)}) {
    weft_arena_t *arena = reinterpret_cast<weft_arena_t *>(0x1);
    Captured c = capture(weft_arena_create(nullptr, 16, alignment, &arena));
    EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT) << alignment;
    EXPECT_NE(c.message.find("power of two"), std::string::npos) << c.message;
    EXPECT_EQ(arena, nullptr) << "out-parameter must be cleared on failure";
  }
}

TEST(Arena, UsesTheGivenAllocator) {
  CountingAllocator counting;
  weft_arena_t *arena = nullptr;
  ASSERT_TRUE(
      isOk(weft_arena_create(&counting.allocator, 256, 64, &arena)));
  EXPECT_GE(counting.allocs.load(), 1);
  EXPECT_EQ(counting.frees.load(), 0);
  weft_arena_destroy(arena);
  EXPECT_EQ(counting.allocs.load(), counting.frees.load());
}

TEST(Arena, AllocationFailuresAreOutOfMemoryAndLeakNothing) {
  // Fail the first allocation, then the second (the data block).
  for (int allowed : {0, 1}) {
    CountingAllocator counting;
    counting.allowed = allowed;
    weft_arena_t *arena = nullptr;
    Captured c =
        capture(weft_arena_create(&counting.allocator, 1 << 20, 64, &arena));
    EXPECT_EQ(c.code, WEFT_OUT_OF_MEMORY) << "allowed " << allowed;
    EXPECT_FALSE(c.message.empty());
    EXPECT_EQ(arena, nullptr);
    EXPECT_EQ(counting.allocs.load(), counting.frees.load());
  }
}
