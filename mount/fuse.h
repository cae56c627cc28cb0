// Copyright 2026 The vifiler Authors.
//
// The libfuse3 low-level API at the version this layer is written against (3.12: the loop
// configuration calls). Include this instead of <fuse_lowlevel.h>.

#ifndef VIFILER_MOUNT_FUSE_H_
#define VIFILER_MOUNT_FUSE_H_

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#endif  // VIFILER_MOUNT_FUSE_H_
