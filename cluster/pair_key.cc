// Copyright 2026 The vifiler Authors.

#include "cluster/pair_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vifiler {
namespace cluster {
namespace {

void Wipe(std::string* s) {
  if (!s->empty()) OPENSSL_cleanse(s->data(), s->size());
  s->clear();
}

bool IsHexText(absl::string_view text) {
  if (text.empty() || text.size() % 2 != 0) return false;
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Closes the descriptor on every path out of LoadPairKeyFile.
class FileCloser {
 public:
  explicit FileCloser(int fd) : fd_(fd) {}
  FileCloser(const FileCloser&) = delete;
  FileCloser& operator=(const FileCloser&) = delete;
  ~FileCloser() { ::close(fd_); }

 private:
  const int fd_;
};

}  // namespace

absl::StatusOr<PairKey> PairKey::FromSecret(absl::string_view secret) {
  if (secret.size() < kMinPairKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the key is ", secret.size(),
                                                   " bytes; at least ", kMinPairKeyBytes,
                                                   " are needed (openssl rand -hex 32 makes one)"));
  }
  return PairKey(std::string(secret));
}

PairKey& PairKey::operator=(const PairKey& other) {
  if (this != &other) {
    Wipe(&secret_);
    secret_ = other.secret_;
  }
  return *this;
}

PairKey::~PairKey() { Wipe(&secret_); }

absl::StatusOr<PairKey> ParsePairKey(absl::string_view content) {
  absl::string_view text = content;
  if (absl::EndsWith(text, "\r\n")) {
    text.remove_suffix(2);
  } else if (absl::EndsWith(text, "\n")) {
    text.remove_suffix(1);
  }
  if (!IsHexText(text)) return PairKey::FromSecret(content);
  std::string bytes = absl::HexStringToBytes(text);
  absl::StatusOr<PairKey> key = PairKey::FromSecret(bytes);
  Wipe(&bytes);
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the key is ", text.size(),
                                                   " hex digits; at least ", 2 * kMinPairKeyBytes,
                                                   " are needed (openssl rand -hex 32 makes one)"));
  }
  return key;
}

absl::StatusOr<PairKey> LoadPairKeyFile(const std::string& path) {
  const std::string what = absl::StrCat("pair key file ", path);
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot open it: ", std::strerror(errno)));
  }
  FileCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not a regular file"));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": group or others may access it (mode ",
                     absl::StrFormat("%04o", st.st_mode & 07777), "); chmod 600 it"));
  }
  if (st.st_size > static_cast<off_t>(kMaxPairKeyFileBytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": ", st.st_size, " bytes; a key file has at most ", kMaxPairKeyFileBytes));
  }
  std::string content(static_cast<size_t>(st.st_size) + 1, '\0');
  size_t got = 0;
  while (got < content.size()) {
    const ssize_t n = ::read(fd, content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Wipe(&content);
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": cannot read it: ", std::strerror(errno)));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > static_cast<size_t>(st.st_size)) {
    Wipe(&content);
    return absl::InvalidArgumentError(absl::StrCat(what, ": changed while it was read"));
  }
  content.resize(got);
  absl::StatusOr<PairKey> key = ParsePairKey(content);
  Wipe(&content);
  if (!key.ok())
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", key.status().message()));
  return key;
}

}  // namespace cluster
}  // namespace vifiler
