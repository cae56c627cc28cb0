// Copyright 2026 The vifiler Authors.
//
// PageBuffer: a buffer of whole pages mapped for it alone (anonymous mmap) and returned to the
// system when it is destroyed. For the large, short-lived buffers sized from a peer's request:
// the allocator could keep freed memory of that size in a thread's arena, so the process would
// stay as large as its largest requests; a PageBuffer never does. Not thread-safe; movable.

#ifndef VIFILER_TRANSPORT_PAGE_BUFFER_H_
#define VIFILER_TRANSPORT_PAGE_BUFFER_H_

#include <cstddef>

namespace vifiler {
namespace transport {

class PageBuffer {
 public:
  PageBuffer() = default;
  // data() is nullptr when size is 0 or the mapping failed.
  explicit PageBuffer(size_t size);
  ~PageBuffer();
  PageBuffer(PageBuffer&& other) noexcept;
  PageBuffer& operator=(PageBuffer&& other) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  char* data() const { return data_; }
  size_t size() const { return data_ == nullptr ? 0 : size_; }

 private:
  void Release();

  char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace transport
}  // namespace vifiler

#endif  // VIFILER_TRANSPORT_PAGE_BUFFER_H_
