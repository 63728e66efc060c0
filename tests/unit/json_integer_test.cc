#include "core/json_integer.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "dcs/member.h"
#include "dcs/sync_record.h"

namespace baton {
namespace {

TEST(JsonIntegerTest, ReadsIntegersTheTypeCanHold) {
  EXPECT_EQ(JsonInteger<int>(nlohmann::json(-7)), -7);
  EXPECT_EQ(JsonInteger<uint32_t>(nlohmann::json(4294967295u)), 4294967295u);
  EXPECT_EQ(JsonInteger<int>(nlohmann::json::parse("2147483647")), 2147483647);
}

TEST(JsonIntegerTest, RefusesWhatWouldNotConvert) {
  EXPECT_EQ(JsonInteger<int>(nlohmann::json::parse("1e300")), std::nullopt);
  EXPECT_EQ(JsonInteger<int>(nlohmann::json::parse("2.5")), std::nullopt);
  EXPECT_EQ(JsonInteger<int>(nlohmann::json::parse("2147483648")), std::nullopt);
  EXPECT_EQ(JsonInteger<uint32_t>(nlohmann::json::parse("-1")), std::nullopt);
  EXPECT_EQ(JsonInteger<uint32_t>(nlohmann::json::parse("4294967296")), std::nullopt);
  EXPECT_EQ(JsonInteger<int>(nlohmann::json("3")), std::nullopt);
  EXPECT_EQ(JsonInteger<int>(nlohmann::json(true)), std::nullopt);
}

TEST(JsonIntegerTest, FieldFallsBackOnlyWhenAbsent) {
  const auto object = nlohmann::json::parse(R"({"timeline": 3, "priority": -1e300})");
  EXPECT_EQ(JsonIntegerField<uint32_t>(object, "timeline", 0), 3u);
  EXPECT_EQ(JsonIntegerField<int>(object, "missing", 9), 9);
  EXPECT_EQ(JsonIntegerField<int>(object, "priority", 1), std::nullopt);
}

// Records written by a buggy or hostile writer are refused, as the fuzzer found they must be.
TEST(JsonIntegerTest, RecordsWithNumbersOutOfRangeAreRefused) {
  EXPECT_FALSE(MemberInfo::FromJson(R"({"name": "n1", "timeline": 1e300})").has_value());
  EXPECT_FALSE(MemberInfo::FromJson(R"({"name": "n1", "timeline": -1})").has_value());
  EXPECT_FALSE(MemberInfo::FromJson(R"({"name": "n1", "priority": 3e10})").has_value());
  ASSERT_TRUE(MemberInfo::FromJson(R"({"name": "n1", "timeline": 4, "priority": 0})").has_value());
  EXPECT_FALSE(SyncRecord::FromJson(R"({"leader": "n1", "standbys": [], "acks": 1e300})"));
  EXPECT_TRUE(SyncRecord::FromJson(R"({"leader": "n1", "standbys": ["n2"], "acks": 1})"));
}

}  // namespace
}  // namespace baton
