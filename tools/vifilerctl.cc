// Copyright 2026 The vifiler Authors.
//
// vifilerctl: the administrator's command line. Sends one command to a filer's admin port
// (cluster/admin_server.h) and prints the answer.

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cluster/admin_server.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/json_string.h"
#include "tools/tool_main.h"
#include "transport/connection.h"
#include "transport/fabric.h"
#include "transport/name_resolver.h"

DEFINE_string(hosts_file, "",
              "resolve filer names with this hosts file (/etc/hosts format) instead of the "
              "system resolver");
DEFINE_uint32(admin_discriminator, vifiler::cluster::kDefaultAdminDiscriminator,
              "discriminator (TCP port) of the filers' admin ports");
DEFINE_string(secret, "",
              "admin secret, needed when vifilerctl runs on another host than the filer "
              "(default: the environment variable VIFILER_ADMIN_SECRET, if set)");
DEFINE_uint32(timeout_ms, 5000,
              "give up on a filer that has not answered within this many milliseconds");
DEFINE_string(failover_suffix, "-failover",
              "with status: when FILER does not answer, its partner is asked under FILER's "
              "failover name (FILER + this suffix, the name its clients fail over to)");
DEFINE_bool(takeover, false, "with halt: the partner takes over the halted filer's volume at once");
DEFINE_bool(json, false,
            "with status: print one JSON object (both filers' key=value lines, who serves each "
            "volume, the warnings) instead of text");

namespace vifiler {
namespace tools {
namespace {

constexpr char kUsage[] =
    "vifilerctl [flags] COMMAND FILER\n"
    "  status [--json] FILER    show FILER's state, then its partner's, then who serves what\n"
    "  takeover FILER           FILER takes over its partner's volume\n"
    "  giveback FILER           FILER gives its partner's volume back\n"
    "  halt [--takeover] FILER  stop FILER; with --takeover its partner takes over at once,\n"
    "                           without it the partner does not take over\n"
    "FILER is a filer name (resolved with --hosts_file or the system resolver) or an address;\n"
    "vifilerctl reaches its admin port at ADDRESS:--admin_discriminator over tcp.\n"
    "\n"
    "status prints, for FILER and then for the partner named in FILER's reply, a line\n"
    "\"NAME: STATE (...)\" followed by the filer's key=value lines indented by two spaces;\n"
    "a filer that cannot be reached is shown as \"NAME: down (REASON)\". Then a summary in\n"
    "the manner of `storage failover show`, lines not indented:\n"
    "  node NAME: STATE, takeover of PARTNER possible: yes|no (why not), clients: N,\n"
    "       interconnect: ..., partner mailbox: ...   (one line per filer; a filer that\n"
    "       does not answer: \"node NAME: down (REASON)\")\n"
    "  volume of NAME (PATH): served by FILER on its primary|secondary port (epoch E)\n"
    "  last takeover: ... / last giveback: ...   (as far as the filers that answered know)\n"
    "  WARNING: ...   (a volume served by nobody, a filer that does not answer, a broken\n"
    "                  interconnect, a dead fence guard, a filer running --nodurable)\n"
    "status --json prints the same as one JSON object instead: {\"filer\": FILER, \"filers\":\n"
    "[{\"name\", \"answered\", \"error\" | \"status\": {key: value, ...}, "
    "\"takeover_possible\"}],\n"
    "\"volumes\": [{\"owner\", \"volume\", \"served_by\" (null: nobody), \"port\", \"epoch\"}],\n"
    "\"last_takeover\", \"last_giveback\" ({\"by\", \"time\", \"reason\"} or null), \"warnings\": "
    "[...]}.\n"
    "\n"
    "When FILER does not answer, status asks its failover name (FILER-failover, see\n"
    "--failover_suffix): the partner that answers there, naming FILER as its partner, is\n"
    "shown with the summary, so who serves FILER's volume is known while FILER is down.\n"
    "\n"
    "Exit status: 0 when the command succeeded (for status: when FILER answered; a partner\n"
    "that is down is reported, not an error); 1 when FILER could not be reached or refused\n"
    "or failed the command (the reason goes to stderr); 2 for a usage error.\n"
    "--helpshort lists vifilerctl's own flags; --help adds the logging flags.";

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

int UsageError(absl::string_view what) {
  fprintf(stderr, "vifilerctl: %s (see --help)\n", std::string(what).c_str());
  return kExitUsage;
}

// The answer of one filer: reached says whether its admin port answered at all.
struct Answer {
  bool reached = false;
  absl::StatusOr<std::string> body;
};

class AdminClient {
 public:
  AdminClient(transport::Fabric* fabric, std::string hosts_file, std::string secret)
      : fabric_(fabric), resolver_(std::move(hosts_file)), secret_(std::move(secret)) {}

  Answer Run(const std::string& filer, absl::string_view command) {
    Answer answer;
    absl::Time deadline = absl::Now() + absl::Milliseconds(FLAGS_timeout_ms);
    absl::StatusOr<std::string> address = resolver_.Resolve(filer);
    if (!address.ok()) {
      answer.body = address.status();
      return answer;
    }
    transport::Endpoint endpoint{*address, static_cast<uint16_t>(FLAGS_admin_discriminator)};
    transport::PeerIdentity identity;
    identity.identity = "vifilerctl";
    identity.purpose = transport::kPurposeAdmin;
    absl::StatusOr<std::unique_ptr<transport::Connection>> connection =
        fabric_->Connect(endpoint, identity, deadline);
    if (!connection.ok()) {
      answer.body = connection.status();
      return answer;
    }
    absl::Status sent =
        (*connection)->Send(cluster::EncodeAdminRequest(command, secret_), deadline);
    if (!sent.ok()) {
      answer.body = sent;
      return answer;
    }
    absl::StatusOr<std::string> reply = (*connection)->Receive(deadline);
    (*connection)->Close();
    if (!reply.ok()) {
      answer.body = reply.status();
      return answer;
    }
    answer.reached = true;
    answer.body = cluster::ParseAdminReply(*reply);
    return answer;
  }

 private:
  transport::Fabric* const fabric_;
  transport::NameResolver resolver_;
  const std::string secret_;
};

std::string Reason(const absl::Status& status) {
  if (status.message().empty()) return absl::StatusCodeToString(status.code());
  return std::string(status.message());
}

// The value of "key=" among key=value lines, or "".
// An IPv4 address given instead of a name (it has no failover name).
bool IsAddress(const std::string& text) {
  in_addr ignored;
  return inet_pton(AF_INET, text.c_str(), &ignored) == 1;
}

std::string ValueOf(absl::string_view body, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (kv.first == key) return std::string(kv.second);
  }
  return "";
}

// ---- status: both filers, and a summary of the pair

// One filer's status as vifilerctl saw it.
struct FilerView {
  std::string name;       // as reported by the filer, else as asked
  bool answered = false;  // it replied with a status
  std::string error;      // when not: "down (REASON)" or "error (REASON)"
  std::vector<std::pair<std::string, std::string>> lines;  // its key=value lines, in order

  std::string Get(absl::string_view key) const {
    for (const auto& [k, v] : lines) {
      if (k == key) return v;
    }
    return "";
  }
};

FilerView ViewOf(const std::string& asked, const Answer& answer) {
  FilerView view;
  view.name = asked;
  if (!answer.body.ok()) {
    view.error =
        absl::StrCat(answer.reached ? "error" : "down", " (", Reason(answer.body.status()), ")");
    return view;
  }
  view.answered = true;
  for (absl::string_view line : absl::StrSplit(*answer.body, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    view.lines.emplace_back(std::string(kv.first), std::string(kv.second));
  }
  if (!view.Get("name").empty()) view.name = view.Get("name");
  return view;
}

// Who serves one filer's volume right now.
struct VolumeView {
  std::string owner;      // the filer whose volume it is
  std::string volume;     // its path or device, as the filers describe it
  std::string served_by;  // empty: nobody
  std::string port;       // "primary" or "secondary"
  std::string epoch;
};

// A takeover or giveback some filer remembers.
struct EventView {
  std::string by, time, reason;
};

struct PairView {
  std::string asked;
  std::vector<FilerView> filers;  // the asked filer first, then its partner (if any)
  std::vector<VolumeView> volumes;
  std::vector<EventView> takeovers;
  std::vector<EventView> givebacks;
  std::vector<std::string> warnings;
};

// Derives who serves what from the filers' answers: a filer's volume is served by that filer
// when its primary port is open, else by its partner when the partner's secondary port is
// open, else by nobody (a filer that does not answer serves nothing as far as we know).
PairView Analyze(std::string asked, std::vector<FilerView> filers) {
  PairView pair;
  pair.asked = std::move(asked);
  pair.filers = std::move(filers);
  const std::vector<FilerView>& f = pair.filers;
  for (size_t i = 0; i < f.size(); ++i) {
    const FilerView& self = f[i];
    const FilerView* other = f.size() == 2 ? &f[1 - i] : nullptr;
    VolumeView v;
    v.owner = self.name;
    v.volume = self.answered ? self.Get("volume") : "";
    if (v.volume.empty() && other != nullptr && other->answered) {
      v.volume = other->Get("partner_volume");
    }
    if (self.answered && self.Get("primary_port") == "open") {
      v.served_by = self.name;
      v.port = "primary";
      v.epoch = self.Get("epoch");
    } else if (other != nullptr && other->answered && other->Get("partner") == self.name &&
               other->Get("secondary_port") == "open") {
      v.served_by = other->name;
      v.port = "secondary";
      v.epoch = other->Get("partner_epoch");
    }
    if (v.served_by.empty()) {
      std::string why = self.answered ? absl::StrCat(self.name, " is ", self.Get("state"))
                                      : absl::StrCat(self.name, " is ", self.error);
      if (other != nullptr && other->answered && !other->Get("in_progress").empty()) {
        absl::StrAppend(&why, "; ", other->name, ": ", other->Get("in_progress"));
      }
      if (self.answered && !self.Get("in_progress").empty()) {
        absl::StrAppend(&why, "; ", self.name, ": ", self.Get("in_progress"));
      }
      pair.warnings.push_back(absl::StrCat("volume of ", v.owner, " (",
                                           v.volume.empty() ? "?" : v.volume,
                                           ") is served by nobody: ", why));
    }
    pair.volumes.push_back(std::move(v));
  }
  for (const FilerView& filer : f) {
    if (!filer.answered) {
      pair.warnings.push_back(absl::StrCat(filer.name, " does not answer: ", filer.error));
      continue;
    }
    if (!filer.Get("last_takeover_time").empty()) {
      pair.takeovers.push_back(
          {filer.name, filer.Get("last_takeover_time"), filer.Get("last_takeover_reason")});
    }
    if (!filer.Get("last_giveback_time").empty()) {
      pair.givebacks.push_back(
          {filer.name, filer.Get("last_giveback_time"), filer.Get("last_giveback_reason")});
    }
    if (!filer.Get("warning").empty()) {
      pair.warnings.push_back(absl::StrCat(filer.name, ": ", filer.Get("warning")));
    }
    if (filer.Get("fence_guard") == "DEAD") {
      pair.warnings.push_back(absl::StrCat(filer.name, ": its fence guard is dead"));
    }
    if (absl::StartsWith(filer.Get("durable"), "NO")) {
      pair.warnings.push_back(
          absl::StrCat(filer.name, ": runs --nodurable (acknowledged writes can be lost)"));
    }
  }
  // The most recent first (timestamps sort as text).
  auto newest_first = [](const EventView& x, const EventView& y) { return x.time > y.time; };
  std::sort(pair.takeovers.begin(), pair.takeovers.end(), newest_first);
  std::sort(pair.givebacks.begin(), pair.givebacks.end(), newest_first);
  return pair;
}

std::string TakeoverPossibleText(const FilerView& filer) {
  const std::string possible = filer.Get("takeover_possible");
  if (possible.empty()) return "no (no partner)";
  if (possible == "yes") return "yes";
  const std::string why = filer.Get("takeover_impossible_because");
  return why.empty() ? possible : absl::StrCat(possible, " (", why, ")");
}

std::string NodeLine(const FilerView& filer) {
  if (!filer.answered) return absl::StrCat("node ", filer.name, ": ", filer.error);
  std::string line = absl::StrCat("node ", filer.name, ": ", filer.Get("state"));
  const std::string partner = filer.Get("partner");
  absl::StrAppend(&line, ", takeover", partner.empty() ? "" : absl::StrCat(" of ", partner),
                  " possible: ", TakeoverPossibleText(filer));
  const std::string clients = filer.Get("clients");
  if (!clients.empty()) absl::StrAppend(&line, ", clients: ", clients);
  if (!partner.empty()) {
    absl::StrAppend(&line, ", interconnect: ", filer.Get("interconnect"));
    const std::string heard = filer.Get("heartbeat_age_ms");
    if (!heard.empty() && heard != "-1") {
      absl::StrAppend(&line, " (partner heard ", heard, " ms ago)");
    }
    const std::string mailbox = filer.Get("partner_mailbox");
    const std::string age = filer.Get("partner_mailbox_age_ms");
    if (!mailbox.empty() || !age.empty()) {
      absl::StrAppend(&line, ", partner mailbox: ", mailbox.empty() ? "?" : mailbox);
      if (!age.empty() && age != "-1") absl::StrAppend(&line, " (", age, " ms old)");
    }
  }
  return line;
}

void PrintEvents(absl::string_view what, const std::vector<EventView>& events) {
  if (events.empty()) {
    printf("last %s: none (since the filers that answered started)\n", std::string(what).c_str());
    return;
  }
  const EventView& e = events.front();
  printf("last %s: by %s at %s (%s)\n", std::string(what).c_str(), e.by.c_str(), e.time.c_str(),
         e.reason.c_str());
}

void PrintSummary(const PairView& pair) {
  for (const FilerView& filer : pair.filers) printf("%s\n", NodeLine(filer).c_str());
  for (const VolumeView& v : pair.volumes) {
    std::string line =
        absl::StrCat("volume of ", v.owner, " (", v.volume.empty() ? "?" : v.volume, "): ");
    if (v.served_by.empty()) {
      absl::StrAppend(&line, "served by NOBODY");
    } else {
      absl::StrAppend(&line, "served by ", v.served_by, " on its ", v.port, " port (epoch ",
                      v.epoch, ")");
    }
    printf("%s\n", line.c_str());
  }
  PrintEvents("takeover", pair.takeovers);
  PrintEvents("giveback", pair.givebacks);
  for (const std::string& warning : pair.warnings) printf("WARNING: %s\n", warning.c_str());
}

std::string JsonEvent(const std::vector<EventView>& events) {
  if (events.empty()) return "null";
  const EventView& e = events.front();
  return absl::StrCat("{\"by\": ", JsonString(e.by), ", \"time\": ", JsonString(e.time),
                      ", \"reason\": ", JsonString(e.reason), "}");
}

std::string Json(const PairView& pair) {
  std::vector<std::string> filers;
  for (const FilerView& filer : pair.filers) {
    std::string o = absl::StrCat("{\"name\": ", JsonString(filer.name),
                                 ", \"answered\": ", filer.answered ? "true" : "false");
    if (!filer.answered) {
      absl::StrAppend(&o, ", \"error\": ", JsonString(filer.error), "}");
      filers.push_back(std::move(o));
      continue;
    }
    std::vector<std::string> fields;
    for (const auto& [key, value] : filer.lines) {
      fields.push_back(absl::StrCat(JsonString(key), ": ", JsonString(value)));
    }
    absl::StrAppend(
        &o, ", \"takeover_possible\": ", filer.Get("takeover_possible") == "yes" ? "true" : "false",
        ", \"status\": {", absl::StrJoin(fields, ", "), "}}");
    filers.push_back(std::move(o));
  }
  std::vector<std::string> volumes;
  for (const VolumeView& v : pair.volumes) {
    volumes.push_back(
        absl::StrCat("{\"owner\": ", JsonString(v.owner), ", \"volume\": ", JsonString(v.volume),
                     ", \"served_by\": ", v.served_by.empty() ? "null" : JsonString(v.served_by),
                     ", \"port\": ", v.port.empty() ? "null" : JsonString(v.port),
                     ", \"epoch\": ", v.epoch.empty() ? "null" : JsonString(v.epoch), "}"));
  }
  std::vector<std::string> warnings;
  for (const std::string& w : pair.warnings) warnings.push_back(JsonString(w));
  return absl::StrCat("{\"filer\": ", JsonString(pair.asked), ", \"filers\": [",
                      absl::StrJoin(filers, ", "), "], \"volumes\": [",
                      absl::StrJoin(volumes, ", "),
                      "], \"last_takeover\": ", JsonEvent(pair.takeovers),
                      ", \"last_giveback\": ", JsonEvent(pair.givebacks), ", \"warnings\": [",
                      absl::StrJoin(warnings, ", "), "]}\n");
}

// Prints one filer's status block; returns whether it answered with a status.
bool PrintStatus(const std::string& name, const Answer& answer) {
  if (!answer.body.ok()) {
    const char* what = answer.reached ? "error" : "down";
    printf("%s: %s (%s)\n", name.c_str(), what, Reason(answer.body.status()).c_str());
    return false;
  }
  const std::string& body = *answer.body;
  std::string state = ValueOf(body, "state");
  std::string summary = absl::StrCat(name, ": ", state.empty() ? "unknown" : state);
  std::vector<std::string> details;
  for (absl::string_view key : {"partner", "epoch", "interconnect"}) {
    std::string value = ValueOf(body, key);
    if (!value.empty()) details.push_back(absl::StrCat(key, "=", value));
  }
  if (!details.empty()) absl::StrAppend(&summary, " (", absl::StrJoin(details, " "), ")");
  printf("%s\n", summary.c_str());
  for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipEmpty())) {
    printf("  %s\n", std::string(line).c_str());
  }
  return true;
}

int Status(AdminClient* client, const std::string& filer) {
  Answer answer = client->Run(filer, "status");
  std::vector<FilerView> views = {ViewOf(filer, answer)};
  if (!answer.body.ok()) {
    // FILER is down: its partner answers under FILER's failover name (a name, not an address).
    Answer partner_answer;
    const bool by_name = !absl::StrContains(filer, ':') && !IsAddress(filer);
    if (by_name) partner_answer = client->Run(filer + FLAGS_failover_suffix, "status");
    const bool partner_known =
        partner_answer.body.ok() && ValueOf(*partner_answer.body, "partner") == filer;
    if (partner_known) {
      views.push_back(ViewOf(ValueOf(*partner_answer.body, "name"), partner_answer));
    }
    if (FLAGS_json) {
      printf("%s", Json(Analyze(filer, std::move(views))).c_str());
    } else {
      PrintStatus(filer, answer);
      if (partner_known) {
        PrintStatus(views.back().name, partner_answer);
        PrintSummary(Analyze(filer, std::move(views)));
      }
    }
    fflush(stdout);
    fprintf(stderr, "vifilerctl: %s: %s\n", filer.c_str(), Reason(answer.body.status()).c_str());
    return kExitFailed;
  }
  if (!FLAGS_json) PrintStatus(filer, answer);
  std::string partner = ValueOf(*answer.body, "partner");
  if (!partner.empty() && partner != filer) {
    Answer partner_answer = client->Run(partner, "status");
    if (!FLAGS_json) PrintStatus(partner, partner_answer);
    views.push_back(ViewOf(partner, partner_answer));
  }
  PairView pair = Analyze(filer, std::move(views));
  if (FLAGS_json) {
    printf("%s", Json(pair).c_str());
  } else {
    PrintSummary(pair);
  }
  fflush(stdout);
  return 0;
}

int Command(AdminClient* client, const std::string& filer, absl::string_view command) {
  Answer answer = client->Run(filer, command);
  if (!answer.body.ok()) {
    fprintf(stderr, "vifilerctl: %s: %s: %s\n", filer.c_str(), std::string(command).c_str(),
            Reason(answer.body.status()).c_str());
    return kExitFailed;
  }
  for (absl::string_view line : absl::StrSplit(*answer.body, '\n', absl::SkipEmpty())) {
    printf("%s: %s\n", filer.c_str(), std::string(line).c_str());
  }
  fflush(stdout);
  return 0;
}

int Main(int argc, char** argv) {
  if (argc != 3) return UsageError("expected COMMAND FILER");
  std::string command = argv[1];
  std::string filer = argv[2];
  if (FLAGS_takeover && command != "halt") return UsageError("--takeover goes with halt only");
  if (FLAGS_json && command != "status") return UsageError("--json goes with status only");
  if (FLAGS_timeout_ms == 0) return UsageError("--timeout_ms must be positive");
  if (FLAGS_admin_discriminator == 0 || FLAGS_admin_discriminator > 65535) {
    return UsageError("--admin_discriminator must be in 1..65535");
  }
  bool known =
      command == "status" || command == "takeover" || command == "giveback" || command == "halt";
#ifdef VIFILER_TEST_HOOKS
  // Test hooks: in test builds only (the admin port of any other build does not know them).
  known = known || command == "cut-interconnect" || command == "restore-interconnect";
#endif
  if (!known) return UsageError(absl::StrCat("unknown command \"", command, "\""));
  std::string secret = FLAGS_secret;
  if (secret.empty()) {
    const char* from_env = getenv("VIFILER_ADMIN_SECRET");
    if (from_env != nullptr) secret = from_env;
  }
  absl::StatusOr<std::unique_ptr<transport::Fabric>> fabric = transport::CreateFabric("tcp");
  if (!fabric.ok()) {
    fprintf(stderr, "vifilerctl: %s\n", Reason(fabric.status()).c_str());
    return kExitFailed;
  }
  AdminClient client(fabric->get(), FLAGS_hosts_file, secret);
  if (command == "status") return Status(&client, filer);
  if (command == "halt" && FLAGS_takeover) command = "halt-takeover";
  return Command(&client, filer, command);
}

}  // namespace
}  // namespace tools
}  // namespace vifiler

int main(int argc, char** argv) {
  vifiler::tools::ParseToolCommandLine(vifiler::tools::kUsage, &argc, &argv);
  FLAGS_logtostderr = true;
  if (FLAGS_minloglevel == 0) FLAGS_minloglevel = 2;  // keep stderr to the one-line reason
  google::InitGoogleLogging(argv[0]);
  vifiler::tools::RouteLogToGlog();
  return vifiler::tools::Main(argc, argv);
}
