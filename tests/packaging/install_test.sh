#!/bin/sh
# Copyright 2026 The vifiler Authors.
#
# The embedding contract, checked on an installed tree:
#   install_test.sh BUILD_DIR SOURCE_DIR
# 1. DESTDIR=<temp> meson install from BUILD_DIR (already built: --no-rebuild).
# 2. The headers (C and C++, with the protocol headers client.h includes), the versioned shared
#    library (SONAME libvifiler-client.so.0) and vifiler-client.pc are there.
# 3. The library exports only the public API (nm -D --defined-only): vifiler_*, vifiler::Version,
#    vifiler::client::{Client,File,ErrorCodeOf,SetLogHandler}, and the out-of-line functions of
#    the protocol types in the installed headers. No abseil, transport or internal symbol.
# 4. A C program (embed.c) and a C++ program (embed.cc) compile with only the installed headers
#    and `pkg-config --cflags --libs vifiler-client` (PKG_CONFIG_SYSROOT_DIR = the DESTDIR), link
#    and run against the installed library.
# 5. The library is silent by default: against a filer that is down (a loopback port nobody
#    listens on), the C program prints nothing on stderr unless vifiler_set_log was called; a
#    callback receives the messages; with a NULL callback they go to stderr.
set -eu

build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vifiler-install-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }

step "meson install into $dest"
if ! DESTDIR=$dest meson install -C "$build" --no-rebuild --quiet >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"
  fail "meson install"
fi

pc=$(find "$dest" -name vifiler-client.pc)
[ -n "$pc" ] || fail "no vifiler-client.pc installed"
export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$dest"
version=$(pkg-config --modversion vifiler-client)
# Variables are as installed (some pkg-config versions prefix them with the sysroot, some not).
includedir=$dest$(PKG_CONFIG_SYSROOT_DIR= pkg-config --variable=includedir vifiler-client)
libdir=$dest$(PKG_CONFIG_SYSROOT_DIR= pkg-config --variable=libdir vifiler-client)
cflags=$(pkg-config --cflags vifiler-client)
libs=$(pkg-config --libs vifiler-client)
echo "version $version; cflags: $cflags; libs: $libs"
case "$cflags" in *"$dest"*) ;; *) fail "cflags do not point into the DESTDIR: $cflags" ;; esac
case "$libs" in *"-L$dest"*) ;; *) fail "libs do not point into the DESTDIR: $libs" ;; esac

step "headers"
for h in vifiler/vifiler_client.h vifiler/clientlib/client.h vifiler/protocol/messages.h \
  vifiler/protocol/types.h; do
  [ -f "$includedir/$h" ] || fail "$includedir/$h not installed"
done
# Every include of a project header from an installed header resolves inside the installed tree
# (abseil's come from the abseil package).
for h in $(cd "$includedir/vifiler" && find . -name '*.h'); do
  for dep in $(sed -n 's/^#include "\(\(protocol\|transport\|storage\|filer\|cluster\|clientlib\|tools\)\/.*\)"$/\1/p' \
    "$includedir/vifiler/$h"); do
    [ -f "$includedir/vifiler/$dep" ] || fail "$h includes $dep, which is not installed"
  done
done

step "shared library and SONAME"
major=${version%%.*}
lib=$libdir/libvifiler-client.so
[ -e "$lib" ] || fail "$lib not installed"
[ -f "$libdir/libvifiler-client.so.$version" ] || fail "libvifiler-client.so.$version not installed"
[ "$(readlink -f "$lib")" = "$(readlink -f "$libdir/libvifiler-client.so.$major")" ] ||
  fail "libvifiler-client.so and .so.$major are not the same library"
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = "libvifiler-client.so.$major" ] || fail "SONAME is '$soname'"
echo "SONAME $soname"

step "exported symbols"
nm -D --defined-only "$lib" | awk '{print $3}' | c++filt >"$tmp/symbols"
grep -E -v '^(vifiler_[a-z_]+|vifiler::Version\(\)|vifiler::client::(Client|File|CallDeadline)::.*|vifiler::client::ErrorCodeOf\(.*\)|vifiler::client::SetLogHandler\(.*\)|vifiler::protocol::(ErrorCodeName|OpcodeName|IsMutating)\(.*\)|vifiler::protocol::(FileHandle|FileAttr)::.*)$' \
  "$tmp/symbols" >"$tmp/unexpected" || true
if [ -s "$tmp/unexpected" ]; then
  head -20 "$tmp/unexpected"
  fail "$(wc -l <"$tmp/unexpected") symbols exported beyond the public API"
fi
for s in vifiler_connect vifiler_set_log vifiler_version 'vifiler::Version()' \
  'vifiler::client::SetLogHandler(' 'vifiler::client::Client::Connect('; do
  grep -qF "$s" "$tmp/symbols" || fail "$s is not exported"
done
echo "$(wc -l <"$tmp/symbols") symbols, all public"

step "build a C and a C++ application against the installed tree"
# shellcheck disable=SC2086  # cflags and libs are lists of words
${CC:-cc} -std=c11 -Wall -Wextra -Werror -o "$tmp/embed_c" "$src/tests/packaging/embed.c" \
  $cflags $libs || fail "the C program does not build"
# shellcheck disable=SC2086
${CXX:-c++} -std=c++17 -Wall -Wextra -Werror -o "$tmp/embed_cpp" \
  "$src/tests/packaging/embed.cc" $cflags $libs || fail "the C++ program does not build"
readelf -d "$tmp/embed_c" | grep -q "NEEDED.*\[libvifiler-client.so.$major\]" ||
  fail "embed_c does not need libvifiler-client.so.$major"

step "silent by default; the log callback gets the messages"
export LD_LIBRARY_PATH="$libdir"
# A filer that is down: both names on loopback, ports nobody listens on.
printf '127.0.0.1 downfiler\n127.0.0.1 downfiler-failover\n' >"$tmp/hosts"
port=1
"$tmp/embed_c" quiet "$tmp/hosts" $port >"$tmp/quiet.out" 2>"$tmp/quiet.err" ||
  { cat "$tmp/quiet.out" "$tmp/quiet.err"; fail "embed_c quiet"; }
grep -qx "version=$version" "$tmp/quiet.out" || fail "vifiler_version() is not $version"
[ ! -s "$tmp/quiet.err" ] || { cat "$tmp/quiet.err"; fail "the library wrote to stderr unasked"; }
"$tmp/embed_c" callback "$tmp/hosts" $port >"$tmp/callback.out" 2>"$tmp/callback.err" ||
  { cat "$tmp/callback.out" "$tmp/callback.err"; fail "embed_c callback: no messages"; }
[ ! -s "$tmp/callback.err" ] || { cat "$tmp/callback.err"; fail "stderr used despite a callback"; }
grep -q "cannot reach filer downfiler" "$tmp/callback.out" ||
  { cat "$tmp/callback.out"; fail "the callback did not get the retry warning"; }
"$tmp/embed_c" stderr "$tmp/hosts" $port >"$tmp/stderr.out" 2>"$tmp/stderr.err" ||
  { cat "$tmp/stderr.out" "$tmp/stderr.err"; fail "embed_c stderr"; }
grep -q "^vifiler WARNING: " "$tmp/stderr.err" ||
  { cat "$tmp/stderr.err"; fail "vifiler_set_log(level, NULL, NULL) did not print to stderr"; }
"$tmp/embed_cpp" "$tmp/hosts" $port >"$tmp/cpp.out" 2>"$tmp/cpp.err" ||
  { cat "$tmp/cpp.out" "$tmp/cpp.err"; fail "embed_cpp"; }
[ ! -s "$tmp/cpp.err" ] || { cat "$tmp/cpp.err"; fail "embed_cpp wrote to stderr"; }
cat "$tmp/callback.out" "$tmp/cpp.out"
echo PASS
