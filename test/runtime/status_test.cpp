// Tests for weft_status_t: NULL as OK, codes, formatted messages.
#include "test_util.h"

#include <string>

using namespace weft_test;

TEST(Status, NullMeansOk) {
  EXPECT_EQ(weft_status_code(nullptr), WEFT_OK);
  EXPECT_STREQ(weft_status_message(nullptr), "OK");
  weft_status_free(nullptr); // must be a no-op
}

TEST(Status, CreateWithOkReturnsNull) {
  weft_status_t status = weft_status_create(WEFT_OK, "ignored %d", 1);
  EXPECT_EQ(status, nullptr);
  weft_status_free(status);
}

TEST(Status, KeepsCodeAndFormatsMessage) {
  weft_status_t status = weft_status_create(
      WEFT_INVALID_ARGUMENT, "input '%s': expected %d got %lld", "x", 3,
      (long long)-7);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(weft_status_code(status), WEFT_INVALID_ARGUMENT);
  EXPECT_STREQ(weft_status_message(status), "input 'x': expected 3 got -7");
  weft_status_free(status);
}

TEST(Status, EveryErrorCodeRoundTrips) {
  for (weft_status_code_t code : {WEFT_INVALID_ARGUMENT, WEFT_OUT_OF_MEMORY,
                                  WEFT_UNAVAILABLE, WEFT_INTERNAL}) {
    Captured c = capture(weft_status_create(code, "code %d", (int)code));
    EXPECT_FALSE(c.isNull);
    EXPECT_EQ(c.code, code);
    EXPECT_EQ(c.message, "code " + std::to_string((int)code));
  }
}

TEST(Status, LongMessageIsNotTruncated) {
  std::string big(10000, 'q');
  Captured c =
      capture(weft_status_create(WEFT_INTERNAL, "<%s>", big.c_str()));
  EXPECT_EQ(c.message, "<" + big + ">");
}

TEST(Status, EmptyAndNullFormats) {
  Captured empty = capture(weft_status_create(WEFT_UNAVAILABLE, "%s", ""));
  EXPECT_EQ(empty.code, WEFT_UNAVAILABLE);
  EXPECT_EQ(empty.message, "");
  Captured null = capture(weft_status_create(WEFT_UNAVAILABLE, nullptr));
  EXPECT_EQ(null.code, WEFT_UNAVAILABLE);
  EXPECT_FALSE(null.message.empty());
}

TEST(Status, IndependentStatusesDoNotShareMessages) {
  weft_status_t a = weft_status_create(WEFT_INTERNAL, "first");
  weft_status_t b = weft_status_create(WEFT_INTERNAL, "second");
  ASSERT_NE(a, b);
  EXPECT_STREQ(weft_status_message(a), "first");
  EXPECT_STREQ(weft_status_message(b), "second");
  weft_status_free(a);
  EXPECT_STREQ(weft_status_message(b), "second");
  weft_status_free(b);
}
