// Tests for the default allocator: alignment, odd sizes, zero bytes and
// rejected alignments.
#include "test_util.h"

#include <cstdint>
#include <cstring>

TEST(DefaultAllocator, IsStable) {
  const weft_allocator_t *a = weft_allocator_default();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a, weft_allocator_default());
  EXPECT_NE(a->alloc, nullptr);
  EXPECT_NE(a->free, nullptr);
}

TEST(DefaultAllocator, HonoursAlignmentForOddSizes) {
  const weft_allocator_t *a = weft_allocator_default();
  for (size_t alignment = 1; alignment <= 8192; alignment *= 2) {
    for (size_t size : {size_t(1), size_t(3), size_t(63), size_t(65),
                        size_t(1000), size_t(12345)}) {
      void *p = a->alloc(a->user_data, size, alignment);
      ASSERT_NE(p, nullptr) << "size " << size << " alignment " << alignment;
      size_t effective = alignment < sizeof(void *) ? sizeof(void *) : alignment;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % effective, 0u)
          << "size " << size << " alignment " << alignment;
      std::memset(p, 0xab, size); // the whole request must be writable
      a->free(a->user_data, p);
    }
  }
}

TEST(DefaultAllocator, ZeroBytesGivesAFreeableBlock) {
  const weft_allocator_t *a = weft_allocator_default();
  void *p = a->alloc(a->user_data, 0, 64);
  EXPECT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  a->free(a->user_data, p);
  a->free(a->user_data, nullptr); // like free(NULL)
}

TEST(DefaultAllocator, RejectsBadAlignmentAndOverflow) {
  const weft_allocator_t *a = weft_allocator_default();
  EXPECT_EQ(a->alloc(a->user_data, 16, 0), nullptr);
  EXPECT_EQ(a->alloc(a->user_data, 16, 3), nullptr);
  EXPECT_EQ(a->alloc(a->user_data, 16, 48), nullptr);
  EXPECT_EQ(a->alloc(a->user_data, SIZE_MAX - 2, 64), nullptr);
}
