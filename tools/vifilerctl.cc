// Copyright 2026 The vifiler Authors.
//
// vifilerctl: the administrator's command line. Sends one command to a filer's admin port
// (cluster/admin_server.h) and prints the answer.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cluster/admin_server.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
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
DEFINE_bool(takeover, false, "with halt: the partner takes over the halted filer's volume at once");

namespace vifiler {
namespace tools {
namespace {

constexpr char kUsage[] =
    "vifilerctl [flags] COMMAND FILER\n"
    "  status FILER             show FILER's state, then its partner's\n"
    "  takeover FILER           FILER takes over its partner's volume\n"
    "  giveback FILER           FILER gives its partner's volume back\n"
    "  halt [--takeover] FILER  stop FILER; with --takeover its partner takes over at once,\n"
    "                           without it the partner does not take over\n"
    "FILER is a filer name (resolved with --hosts_file or the system resolver) or an address;\n"
    "vifilerctl reaches its admin port at ADDRESS:--admin_discriminator over tcp.\n"
    "\n"
    "status prints, for FILER and then for the partner named in FILER's reply, a line\n"
    "\"NAME: STATE (...)\" followed by the filer's key=value lines indented by two spaces;\n"
    "a filer that cannot be reached is shown as \"NAME: down (REASON)\".\n"
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
std::string ValueOf(absl::string_view body, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (kv.first == key) return std::string(kv.second);
  }
  return "";
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
  bool answered = PrintStatus(filer, answer);
  if (!answered) {
    fprintf(stderr, "vifilerctl: %s: %s\n", filer.c_str(), Reason(answer.body.status()).c_str());
    return kExitFailed;
  }
  std::string partner = ValueOf(*answer.body, "partner");
  if (!partner.empty() && partner != filer) PrintStatus(partner, client->Run(partner, "status"));
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
  if (FLAGS_timeout_ms == 0) return UsageError("--timeout_ms must be positive");
  if (FLAGS_admin_discriminator == 0 || FLAGS_admin_discriminator > 65535) {
    return UsageError("--admin_discriminator must be in 1..65535");
  }
  if (command != "status" && command != "takeover" && command != "giveback" && command != "halt" &&
      command != "cut-interconnect" && command != "restore-interconnect") {
    return UsageError(absl::StrCat("unknown command \"", command, "\""));
  }
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
  gflags::SetUsageMessage(vifiler::tools::kUsage);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  FLAGS_logtostderr = true;
  if (FLAGS_minloglevel == 0) FLAGS_minloglevel = 2;  // keep stderr to the one-line reason
  google::InitGoogleLogging(argv[0]);
  return vifiler::tools::Main(argc, argv);
}
