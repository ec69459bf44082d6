// LocalRef<T>: shared ownership of a T that never leaves one thread.
//
// std::shared_ptr counts its owners with atomic read-modify-writes, since any
// thread may hold a copy: once the process has started a thread (libstdc++
// counts plainly before that; talkcheck always has by then), a copy and its
// release cost ~14 ns on the machines talkcheck runs on. Objects that live
// on one event loop's thread (a socket's receive handler, held by each
// delivery in case the handler destroys its socket) need the sharing and not
// the atomicity: a fuzz schedule copied such a handler twice per datagram.
// LocalRef keeps shared_ptr's semantics with a plain count; copies must stay
// on the thread that made the first one.
#ifndef TALKCHECK_BASE_LOCAL_REF_H_
#define TALKCHECK_BASE_LOCAL_REF_H_

#include <cstddef>
#include <utility>

namespace talkcheck {

template <typename T>
class LocalRef {
 public:
  LocalRef() = default;
  LocalRef(std::nullptr_t) {}  // NOLINT: converts like a null shared_ptr

  template <typename... Args>
  static LocalRef Make(Args&&... args) {
    LocalRef ref;
    ref.box_ = new Box{T(std::forward<Args>(args)...), 1};
    return ref;
  }

  LocalRef(const LocalRef& other) : box_(other.box_) {
    if (box_ != nullptr) ++box_->owners;
  }
  LocalRef(LocalRef&& other) noexcept
      : box_(std::exchange(other.box_, nullptr)) {}
  LocalRef& operator=(LocalRef other) noexcept {
    std::swap(box_, other.box_);
    return *this;
  }
  ~LocalRef() {
    if (box_ != nullptr && --box_->owners == 0) delete box_;
  }

  T* get() const { return box_ != nullptr ? &box_->value : nullptr; }
  T& operator*() const { return box_->value; }
  T* operator->() const { return &box_->value; }
  explicit operator bool() const { return box_ != nullptr; }

  // How many LocalRefs share the object (0 for a null one).
  size_t owners() const { return box_ != nullptr ? box_->owners : 0; }

 private:
  struct Box {
    T value;
    size_t owners;
  };
  Box* box_ = nullptr;
};

}  // namespace talkcheck

#endif  // TALKCHECK_BASE_LOCAL_REF_H_
