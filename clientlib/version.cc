// Copyright 2026 The vifiler Authors.

#include "clientlib/client.h"
#include "vifiler_version.h"

namespace vifiler {

const char* Version() { return VIFILER_VERSION_STRING; }

}  // namespace vifiler
