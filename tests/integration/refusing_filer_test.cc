// Copyright 2026 The vifiler Authors.
//
// A filer that accepts and then refuses (issue 7, bug 2: `vifiler put` printed 255,524
// "reconnected" lines in 10 minutes). A fake filer served in the test process on the real
// fabric listener and handshake opens every session it is asked for, then answers every
// request with NOT_OWNER, or with BAD_SESSION, or closes the connection right after the
// session is made: each reconnect succeeds and each resent request is refused.
//
// What the tests prove, with failover on and off: the client keeps trying until the failover
// deadline (measured from the first refusal) and no longer: the call fails with UNAVAILABLE or
// DEADLINE_EXCEEDED naming the filer and what it did, within failover_deadline +
// request_timeout (+ slack); it backs off between sessions that are made and then refused
// (the fake sees a bounded number of connections, not one per few hundred microseconds); and
// it says so once through its log, not once per reconnect. A client that never gives up is
// reported as a failure, not a hung test: past the bound the fake starts answering, which ends
// the call.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "clientlib/client.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "tests/integration/test_env.h"
#include "transport/fabric.h"

namespace vifiler {
namespace testing {
namespace {

using client::Client;
using protocol::ErrorCode;
using protocol::MessageHeader;
using protocol::Opcode;

enum class Refusal { kNotOwner, kBadSession, kCloseAfterSession };

const char* RefusalName(Refusal r) {
  switch (r) {
    case Refusal::kNotOwner:
      return "NotOwner";
    case Refusal::kBadSession:
      return "BadSession";
    case Refusal::kCloseAfterSession:
      return "CloseAfterSession";
  }
  return "?";
}

// What the client's error must mention about the filer's behaviour.
const char* RefusalWords(Refusal r) {
  switch (r) {
    case Refusal::kNotOwner:
      return "NOT_OWNER";
    case Refusal::kBadSession:
      return "BAD_SESSION";
    case Refusal::kCloseAfterSession:
      return "connection";
  }
  return "?";
}

// The fake filer: one listener, one connection served at a time (the client holds at most one
// session to its primary port), each session created normally and then refused.
class RefusingFiler {
 public:
  explicit RefusingFiler(Refusal refusal) : refusal_(refusal) {}
  ~RefusingFiler() { Stop(); }

  absl::Status Start(transport::Fabric* fabric, const std::string& address) {
    absl::StatusOr<std::unique_ptr<transport::Listener>> listener =
        fabric->Listen(transport::Endpoint{address, 0});  // port 0: a free port
    if (!listener.ok()) return listener.status();
    listener_ = std::move(*listener);
    thread_ = std::thread([this] { Serve(); });
    return absl::OkStatus();
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
    if (listener_ != nullptr) listener_->Close();
  }

  uint16_t discriminator() const { return listener_->endpoint().discriminator; }
  int connections() const {
    absl::MutexLock lock(&mu_);
    return connections_;
  }
  int refused() const {
    absl::MutexLock lock(&mu_);
    return refused_;
  }
  // From now on answers requests (OK, no body) instead of refusing them.
  void Heal() {
    absl::MutexLock lock(&mu_);
    healed_ = true;
  }

 private:
  bool stopping() const {
    absl::MutexLock lock(&mu_);
    return stopping_;
  }

  void Serve() {
    while (!stopping()) {
      absl::StatusOr<std::unique_ptr<transport::Connection>> c =
          listener_->Accept(absl::Now() + absl::Milliseconds(50));
      if (!c.ok()) continue;
      {
        absl::MutexLock lock(&mu_);
        ++connections_;
      }
      Handle(c->get());
      (*c)->Close();
    }
  }

  // Serves one connection until the client closes it (or the fake closes it, or stops).
  void Handle(transport::Connection* c) {
    while (!stopping()) {
      absl::StatusOr<std::string> message = c->Receive(absl::Now() + absl::Milliseconds(50));
      if (!message.ok()) {
        if (absl::IsDeadlineExceeded(message.status())) continue;
        return;  // closed by the client
      }
      absl::StatusOr<MessageHeader> header = protocol::DecodeHeader(*message);
      if (!header.ok() || (header->flags & protocol::kFlagReply)) return;
      if (header->opcode == Opcode::kSessionDestroy) return;
      MessageHeader reply = *header;
      reply.flags = protocol::kFlagReply;
      if (header->opcode == Opcode::kSessionCreate) {
        protocol::SessionCreateRequest request;
        if (!protocol::DecodeMessageBody(*message, &request).ok()) return;
        protocol::SessionCreateReply created;
        created.session_id = ++sessions_;
        created.slots = request.slots;
        created.inline_threshold = 4096;
        created.root = protocol::FileHandle{7, 1, 1};
        created.filer_name = "refuser";
        reply.status = ErrorCode::kOk;
        if (!c->Send(protocol::EncodeMessage(reply, created), absl::Now() + absl::Seconds(1))
                 .ok()) {
          return;
        }
        if (refusal_ == Refusal::kCloseAfterSession) {
          {
            absl::MutexLock lock(&mu_);
            if (healed_) continue;
            ++refused_;
          }
          // Give the session reply a moment to be read before the connection goes.
          absl::SleepFor(absl::Milliseconds(5));
          return;
        }
        continue;
      }
      // Every other request (keepalive probes included) is refused.
      reply.status = refusal_ == Refusal::kNotOwner ? ErrorCode::kNotOwner : ErrorCode::kBadSession;
      {
        absl::MutexLock lock(&mu_);
        if (healed_) {
          reply.status = ErrorCode::kOk;
        } else {
          ++refused_;
        }
      }
      if (!c->Send(protocol::EncodeMessage(reply, protocol::Empty()),
                   absl::Now() + absl::Seconds(1))
               .ok()) {
        return;
      }
    }
  }

  const Refusal refusal_;
  std::unique_ptr<transport::Listener> listener_;
  std::thread thread_;
  uint64_t sessions_ = 0;  // the serving thread's
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
  int refused_ ABSL_GUARDED_BY(mu_) = 0;
  bool healed_ ABSL_GUARDED_BY(mu_) = false;
};

// The client's log messages (at the default level, kInfo, and above) and events.
struct Messages {
  absl::Mutex mu;
  std::vector<std::string> log ABSL_GUARDED_BY(mu);
  std::vector<std::string> events ABSL_GUARDED_BY(mu);
};

struct Case {
  Refusal refusal;
  bool failover;
};

class RefusingFilerTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(test_fabric_.address_a.empty()) << "no address for " << test_fabric_.fabric;
    dir_ = MakeScratchDir("vifiler-refusing");
    ASSERT_FALSE(dir_.empty());
    auto fabric = transport::CreateFabric(test_fabric_.fabric);
    ASSERT_TRUE(fabric.ok()) << fabric.status();
    fabric_ = std::move(*fabric);
    filer_ = std::make_unique<RefusingFiler>(GetParam().refusal);
    absl::Status started = filer_->Start(fabric_.get(), test_fabric_.address_a);
    ASSERT_TRUE(started.ok()) << started;
    // The failover name is an address where nothing listens: the partner refuses connections.
    hosts_ = WriteHostsFile(
        dir_, {{"refuser", test_fabric_.address_a}, {"refuser-failover", test_fabric_.address_b}});
  }

  void TearDown() override {
    if (filer_ != nullptr) filer_->Stop();
    RemoveTree(dir_);
  }

  client::ClientOptions Options() {
    client::ClientOptions o = TestClientOptions(hosts_);
    o.failover = GetParam().failover;
    o.primary_discriminator = filer_->discriminator();
    o.secondary_discriminator = filer_->discriminator();  // on address_b: refused
    o.failover_deadline = kFailoverDeadline;
    o.request_timeout = kRequestTimeout;
    o.connect_timeout = absl::Milliseconds(500);
    o.log_level = client::LogLevel::kInfo;
    o.log = [this](client::LogLevel, const std::string& message) {
      absl::MutexLock lock(&messages_.mu);
      messages_.log.push_back(message);
    };
    o.on_event = [this](const std::string& text) {
      absl::MutexLock lock(&messages_.mu);
      messages_.events.push_back(text);
    };
    return o;
  }

  static constexpr absl::Duration kFailoverDeadline = absl::Milliseconds(1500);
  static constexpr absl::Duration kRequestTimeout = absl::Seconds(1);

  TestFabric test_fabric_ = GetTestFabric();
  std::string dir_, hosts_;
  std::unique_ptr<transport::Fabric> fabric_;
  std::unique_ptr<RefusingFiler> filer_;
  Messages messages_;
};

TEST_P(RefusingFilerTest, CallGivesUpAtTheDeadlineWithBackoffAndOneLogLine) {
  auto c = Client::Connect("refuser", Options());
  ASSERT_TRUE(c.ok()) << c.status();  // sessions are made: only requests are refused
  const int connections_before = filer_->connections();
  {
    absl::MutexLock lock(&messages_.mu);
    messages_.log.clear();
    messages_.events.clear();
  }

  const absl::Duration bound = Scaled(kFailoverDeadline + kRequestTimeout + absl::Seconds(1));
  const absl::Time start = absl::Now();
  absl::StatusOr<client::File> created = absl::InternalError("not run");
  absl::Duration took;
  absl::Notification done;
  std::thread caller([&] {
    created = (*c)->Create("/put-target");
    took = absl::Now() - start;
    done.Notify();
  });
  const absl::Duration patience = bound + absl::Seconds(2);
  const bool returned = done.WaitForNotificationWithTimeout(patience);
  const int connections = filer_->connections() - connections_before;
  if (!returned) filer_->Heal();  // ends a call that would otherwise retry forever
  caller.join();
  EXPECT_TRUE(returned) << "the call was still retrying " << absl::FormatDuration(patience)
                        << " after it started, after " << connections << " connections";

  std::vector<std::string> log, events;
  {
    absl::MutexLock lock(&messages_.mu);
    log = messages_.log;
    events = messages_.events;
  }
  const std::string shown =
      absl::StrCat("log (", log.size(), "):\n  ", absl::StrJoin(log, "\n  "), "\nevents (",
                   events.size(), "):\n  ", absl::StrJoin(events, "\n  "));
  fprintf(stderr, "%s failover=%d: %s after %s, %d connections, %d refusals; %s\n",
          RefusalName(GetParam().refusal), GetParam().failover,
          created.ok() ? "OK" : created.status().ToString().c_str(),
          absl::FormatDuration(took).c_str(), connections, filer_->refused(), shown.c_str());

  ASSERT_FALSE(created.ok()) << "a filer that refuses every request cannot create a file";
  EXPECT_TRUE(absl::IsUnavailable(created.status()) || absl::IsDeadlineExceeded(created.status()))
      << created.status();
  EXPECT_NE(created.status().message().find("refuser"), std::string::npos) << created.status();
  EXPECT_NE(created.status().message().find(RefusalWords(GetParam().refusal)), std::string::npos)
      << created.status();
  // Rides through refusals until the failover deadline, and gives up then.
  EXPECT_GE(took, kFailoverDeadline - absl::Milliseconds(50));
  EXPECT_LE(took, bound);
  // It retried, with backoff: not one session per round trip.
  EXPECT_GE(connections, 2);
  EXPECT_LT(connections, 100) << shown;
  // A handful of lines for the whole episode, not one per reconnect.
  EXPECT_LE(log.size(), 4u) << shown;
  EXPECT_LE(events.size(), 2u) << shown;
}

INSTANTIATE_TEST_SUITE_P(Refusals, RefusingFilerTest,
                         ::testing::Values(Case{Refusal::kNotOwner, true},
                                           Case{Refusal::kNotOwner, false},
                                           Case{Refusal::kBadSession, true},
                                           Case{Refusal::kBadSession, false},
                                           Case{Refusal::kCloseAfterSession, true},
                                           Case{Refusal::kCloseAfterSession, false}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return absl::StrCat(RefusalName(info.param.refusal),
                                               info.param.failover ? "Failover" : "NoFailover");
                         });

}  // namespace
}  // namespace testing
}  // namespace vifiler
