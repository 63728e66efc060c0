#include "dcs/memory_dcs.h"

#include <gtest/gtest.h>

#include "dcs/cluster_store.h"

namespace baton {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(MemoryDcsTest, LeaseExpiryDeletesItsKeysAndFiresWatches) {
  SimulatedClock clock;
  MemoryDcs dcs(clock);
  std::vector<std::string> deleted;
  dcs.WatchPrefix("/a/", [&](const WatchEvent& e) {
    if (e.type == WatchEvent::Type::kDelete) deleted.push_back(e.kv.key);
  });
  auto lease = dcs.GrantLease(10);
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(dcs.Put("/a/leased", "x", *lease).ok());
  ASSERT_TRUE(dcs.Put("/a/forever", "y", 0).ok());

  clock.Advance(seconds(9));
  ASSERT_TRUE(dcs.KeepAlive(*lease).ok());  // renewed at t=9: now ends at t=19
  clock.Advance(seconds(9));
  dcs.Tick();
  EXPECT_TRUE(deleted.empty());
  EXPECT_EQ(dcs.GetPrefix("/a/")->size(), 2u);

  clock.Advance(seconds(1) + milliseconds(1));
  dcs.Tick();
  EXPECT_EQ(deleted, std::vector<std::string>{"/a/leased"});
  auto left = dcs.GetPrefix("/a/");
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().key, "/a/forever");
  EXPECT_EQ(dcs.KeepAlive(*lease).code(), StatusCode::kNotFound);
}

TEST(MemoryDcsTest, TransactionsCompare) {
  SimulatedClock clock;
  MemoryDcs dcs(clock);
  auto lease_a = *dcs.GrantLease(5);
  auto lease_b = *dcs.GrantLease(5);
  EXPECT_TRUE(*dcs.CreateIfAbsent("/k", "a", lease_a));
  EXPECT_FALSE(*dcs.CreateIfAbsent("/k", "b", lease_b));
  EXPECT_TRUE(*dcs.Holds("/k", "a", lease_a));
  EXPECT_FALSE(*dcs.Holds("/k", "a", lease_b));
  EXPECT_FALSE(*dcs.Holds("/k", "b", lease_a));
  EXPECT_FALSE(*dcs.PutIfValue("/k", "b", "b", lease_b));
  EXPECT_TRUE(*dcs.PutIfValue("/k", "a", "a", lease_b));  // moves the key to another lease
  EXPECT_TRUE(*dcs.Holds("/k", "a", lease_b));
  EXPECT_FALSE(*dcs.DeleteIfValue("/k", "b"));
  EXPECT_TRUE(*dcs.DeleteIfValue("/k", "a"));
  EXPECT_TRUE(dcs.GetPrefix("/k")->empty());
  // A put on an ended lease is refused, as etcd refuses it.
  ASSERT_TRUE(dcs.RevokeLease(lease_a).ok());
  EXPECT_EQ(dcs.Put("/x", "v", lease_a).code(), StatusCode::kNotFound);
}

TEST(MemoryDcsTest, UnreachableStoreFailsEveryCallWhileLeasesAge) {
  SimulatedClock clock;
  MemoryDcs dcs(clock);
  auto lease = *dcs.GrantLease(2);
  ASSERT_TRUE(dcs.Put("/k", "v", lease).ok());
  dcs.SetReachable(false);
  EXPECT_EQ(dcs.KeepAlive(lease).code(), StatusCode::kUnavailable);
  EXPECT_EQ(dcs.GetPrefix("/").status().code(), StatusCode::kUnavailable);
  clock.Advance(seconds(3));
  dcs.SetReachable(true);
  EXPECT_TRUE(dcs.GetPrefix("/")->empty());
}

TEST(ClusterStoreTest, OneNodeWinsInitializeAndTheLeaderKey) {
  SimulatedClock clock;
  MemoryDcs dcs(clock);
  ClusterStore a(dcs, "c", "a", 10, clock);
  ClusterStore b(dcs, "c", "b", 10, clock);
  ASSERT_TRUE(a.RefreshSession().ok());
  ASSERT_TRUE(b.RefreshSession().ok());
  EXPECT_TRUE(*a.ClaimInitialize());
  EXPECT_FALSE(*b.ClaimInitialize());
  EXPECT_TRUE(*a.AcquireLeader());
  EXPECT_FALSE(*b.AcquireLeader());
  EXPECT_TRUE(*a.RenewLeader());
  EXPECT_FALSE(*b.RenewLeader());
  auto view = a.Load();
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->initialized_by, "a");
  EXPECT_EQ(view->leader->name, "a");
  // The leader's session ends: the key goes and the other node can take it.
  clock.Advance(seconds(11));
  ASSERT_TRUE(b.RefreshSession().ok());
  EXPECT_FALSE(b.Load()->leader.has_value());
  EXPECT_TRUE(*b.AcquireLeader());
}

TEST(ClusterStoreTest, AHandOverHappensOnlyIfTheRequestWasNotCancelledMeanwhile) {
  SimulatedClock clock;
  MemoryDcs dcs(clock);
  ClusterStore a(dcs, "c", "a", 10, clock);
  ClusterStore b(dcs, "c", "b", 10, clock);
  ASSERT_TRUE(a.RefreshSession().ok());
  ASSERT_TRUE(b.RefreshSession().ok());
  ASSERT_TRUE(*a.AcquireLeader());
  SwitchoverRequest request;
  request.from = "a";
  request.to = "b";
  ASSERT_TRUE(*a.RequestSwitchover(request));
  const std::string seen = a.Load()->switchover_text;
  // An operator cancels between the leader's read and its hand-over.
  ASSERT_TRUE(*b.CancelSwitchover(seen));
  SwitchoverRequest handing = request;
  handing.handing_over = true;
  EXPECT_FALSE(*a.HandOver(handing, b.lease(), seen));
  auto view = a.Load();
  EXPECT_EQ(view->leader->name, "a");
  EXPECT_FALSE(view->switchover.has_value());
  // Not cancelled: the record and the key move together, the key onto b's lease.
  ASSERT_TRUE(*a.RequestSwitchover(request));
  const std::string again = a.Load()->switchover_text;
  EXPECT_TRUE(*a.HandOver(handing, b.lease(), again));
  view = a.Load();
  EXPECT_EQ(view->leader->name, "b");
  EXPECT_EQ(view->leader->lease, b.lease());
  EXPECT_TRUE(view->switchover->handing_over);
  // A cancel that read the old text no longer removes the hand-over.
  EXPECT_FALSE(*b.CancelSwitchover(again));
}

TEST(ClusterStoreTest, AnEarlyTakeoverFailsOnceTheOldLeadersNodeRewroteTheKey) {
  SimulatedClock clock;
  MemoryDcs dcs(clock);
  ClusterStore leader(dcs, "c", "a", 10, clock);
  ClusterStore b(dcs, "c", "b", 10, clock);
  for (ClusterStore* store : {&leader, &b}) ASSERT_TRUE(store->RefreshSession().ok());
  ASSERT_TRUE(*leader.AcquireLeader());
  const ClusterView seen = *b.Load();
  // a's agent dies and a new one starts on a: it renews the key onto its own session lease
  // (before it starts PostgreSQL as primary it also rewrites it), after b looked.
  ClusterStore restarted(dcs, "c", "a", 10, clock);
  ASSERT_TRUE(restarted.RefreshSession().ok());
  ASSERT_TRUE(*restarted.RenewLeader());
  EXPECT_FALSE(*b.TakeOverLeader("a", seen.leader->mod_revision, seen.sync_text, {}));
  EXPECT_EQ(b.Load()->leader->lease, restarted.lease());
  // Seen as it is now, the key moves.
  const ClusterView again = *b.Load();
  EXPECT_TRUE(*b.TakeOverLeader("a", again.leader->mod_revision, again.sync_text, {}));
  EXPECT_EQ(b.Load()->leader->name, "b");
  // The restarted agent's next renewal finds the key gone: it starts no primary.
  EXPECT_FALSE(*restarted.RenewLeader());
  EXPECT_FALSE(*restarted.ReclaimLeader());

  // b's agent, alive, restarts its server in place: it rewrites the key first (same lease), so
  // a takeover that read the key before fails too. A plain renewal writes nothing.
  ClusterStore c(dcs, "c", "c", 10, clock);
  ASSERT_TRUE(c.RefreshSession().ok());
  const ClusterView before_restart = *c.Load();
  ASSERT_TRUE(*b.RenewLeader());
  ASSERT_TRUE(*b.ReclaimLeader());
  EXPECT_EQ(c.Load()->leader->lease, b.lease());
  EXPECT_FALSE(*c.TakeOverLeader("b", before_restart.leader->mod_revision, "", {}));
  const ClusterView after_restart = *c.Load();
  ASSERT_TRUE(*b.RenewLeader());
  EXPECT_TRUE(*c.TakeOverLeader("b", after_restart.leader->mod_revision, "", {}));
}

TEST(ClusterStoreTest, AnEarlyTakeoverNeedsTheKeyTheRecordAndTheDetachedStandbysAsCounted) {
  SimulatedClock clock;
  MemoryDcs dcs(clock);
  ClusterStore leader(dcs, "c", "a", 10, clock);
  ClusterStore b(dcs, "c", "b", 10, clock);
  ClusterStore c(dcs, "c", "c", 10, clock);
  for (ClusterStore* store : {&leader, &b, &c}) ASSERT_TRUE(store->RefreshSession().ok());
  ASSERT_TRUE(*leader.AcquireLeader());
  ASSERT_TRUE(*leader.WriteSync(SyncRecord::Make("a", {"b", "c"}, 1), ""));
  MemberInfo detached;
  detached.name = "c";
  detached.detached_from = "a";
  ASSERT_TRUE(c.PublishMember(detached).ok());
  const ClusterView seen = *b.Load();
  // c reattaches (and says so) before b's transaction: b must not count it any more.
  detached.detached_from.clear();
  ASSERT_TRUE(c.PublishMember(detached).ok());
  EXPECT_FALSE(*b.TakeOverLeader("a", seen.leader->mod_revision, seen.sync_text,
                                 {{"c", seen.member_texts.at("c")}}));
  const ClusterView again = *b.Load();
  EXPECT_EQ(again.leader->name, "a");
  // As counted: the key moves to b's lease, and /sync stays as the old leader left it (true
  // until b promotes; then b writes its own).
  EXPECT_TRUE(*b.TakeOverLeader("a", again.leader->mod_revision, again.sync_text,
                                {{"c", again.member_texts.at("c")}}));
  const ClusterView after = *b.Load();
  EXPECT_EQ(after.leader->name, "b");
  EXPECT_EQ(after.leader->lease, b.lease());
  EXPECT_EQ(after.sync_text, again.sync_text);
  // The old leader can no longer change the record.
  EXPECT_FALSE(*leader.WriteSync(SyncRecord::LeaderOnly("a"), after.sync_text));
}

TEST(ClusterStoreTest, LeaderChangesAreUrgentMemberUpdatesAreNot) {
  SimulatedClock clock;
  MemoryDcs dcs(clock);
  ClusterStore a(dcs, "c", "a", 10, clock);
  int wakes = 0;
  a.Watch(
      [&](const std::string& key, const std::string&) { wakes += ClusterStore::IsUrgentKey(key); });
  ASSERT_TRUE(a.RefreshSession().ok());
  MemberInfo m;
  m.name = "a";
  ASSERT_TRUE(a.PublishMember(m).ok());
  EXPECT_EQ(wakes, 0);
  ASSERT_TRUE(*a.AcquireLeader());
  EXPECT_EQ(wakes, 1);
  ASSERT_TRUE(*a.RenewLeader());  // renewing writes nothing
  EXPECT_EQ(wakes, 1);
}

TEST(ClusterStoreTest, TextThatIsNotUtf8IsStoredInsteadOfThrowing) {
  SimulatedClock clock;
  MemoryDcs dcs(clock);
  ClusterStore store(dcs, "c", "a", 10, clock);
  ASSERT_TRUE(store.RefreshSession().ok());
  MemberInfo m;
  m.name = "a";
  m.note = "postgres log tail cut mid-character: \xc3";
  EXPECT_TRUE(store.PublishMember(m).ok());
  EXPECT_TRUE(store.AppendHistory({{"reason", m.note}}).ok());
  auto view = store.Load();
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->members.count("a"), 1u);
}

TEST(MemberInfoTest, RoundTripsThroughJson) {
  MemberInfo m;
  m.name = "n1";
  m.role = MemberRole::kPrimary;
  m.state = MemberState::kRunning;
  m.timeline = 3;
  m.lsn = *Lsn::Parse("1/A0");
  m.replication.push_back({"n2", "streaming", *Lsn::Parse("1/90"), 0.25});
  auto back = MemberInfo::FromJson(m.ToJson().dump());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->timeline, 3u);
  EXPECT_EQ(back->lsn.ToString(), "1/A0");
  ASSERT_EQ(back->replication.size(), 1u);
  EXPECT_EQ(back->replication[0].replay_lsn.ToString(), "1/90");
  EXPECT_FALSE(MemberInfo::FromJson("not json").has_value());
}

TEST(LsnTest, ParsesAndFormats) {
  EXPECT_EQ(Lsn::Parse("16/B374D848")->value, (uint64_t{0x16} << 32) | 0xB374D848);
  EXPECT_EQ(Lsn::Parse("16/B374D848")->ToString(), "16/B374D848");
  EXPECT_FALSE(Lsn::Parse("16B374D848").has_value());
  EXPECT_FALSE(Lsn::Parse("x/1").has_value());
  EXPECT_LT(*Lsn::Parse("0/FFFFFFFF"), *Lsn::Parse("1/0"));
}

}  // namespace
}  // namespace baton
