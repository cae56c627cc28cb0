// Copyright 2026 The vifiler Authors.

#include "tools/mount_command.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gflags/gflags.h"
#include "mount/mount.h"
#include "tools/client_flags.h"
#include "tools/status_text.h"

DEFINE_string(o, "",
              "mount: comma-separated mount options: ro (read-only), rw, and options for the "
              "kernel's FUSE mount such as allow_other");
DEFINE_bool(f, false, "mount: stay in the foreground (same as --foreground)");
DEFINE_bool(foreground, false,
            "mount: stay in the foreground until unmounted (default: return once the mount "
            "is up and serve it from a background process)");
DEFINE_bool(read_only, false, "mount: read-only (same as -o ro)");
DEFINE_bool(debug, false, "mount: foreground, with libfuse's trace of every request on stderr");
DEFINE_string(pid_file, "", "mount: the process serving the mount writes its pid to this file");
DEFINE_uint32(attr_timeout_ms, 1000,
              "mount: how long the kernel may use a file's attributes and a name's lookup "
              "before asking the filer again (what another client changed shows within this)");

namespace vifiler {
namespace tools {

int MountCommand(const std::vector<std::string>& args) {
  mount::MountOptions options;
  if (args.size() != 3 || !mount::ParseFilerPath(args[1], &options.filer, &options.path)) {
    fprintf(stderr, "vifiler: usage: mount [-o ro] [-f] [--debug] FILER:/path MOUNTPOINT\n");
    return 1;
  }
  options.mountpoint = args[2];
  options.fs.read_only = FLAGS_read_only;
  for (absl::string_view o : absl::StrSplit(FLAGS_o, ',', absl::SkipEmpty())) {
    if (o == "ro") {
      options.fs.read_only = true;
    } else if (o != "rw") {
      options.kernel_options.emplace_back(o);
    }
  }
  options.fs.attr_timeout = absl::Milliseconds(FLAGS_attr_timeout_ms);
  options.fs.entry_timeout = absl::Milliseconds(FLAGS_attr_timeout_ms);
  options.foreground = FLAGS_f || FLAGS_foreground;
  options.debug = FLAGS_debug;
  options.pid_file = FLAGS_pid_file;
  options.client = ClientOptionsFromFlags();
  absl::Status s = mount::Mount(options);
  if (!s.ok()) {
    fprintf(stderr, "vifiler: %s\n",
            StatusText(absl::Status(s.code(), absl::StrCat("mount ", args[1], " ", args[2], ": ",
                                                           s.message())))
                .c_str());
    return 1;
  }
  return 0;
}

}  // namespace tools
}  // namespace vifiler
