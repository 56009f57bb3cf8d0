// A fixed-size array of trivially copyable values whose large allocations are backed by
// transparent huge pages where the OS offers them (Linux madvise), so that random reads
// over tens or hundreds of MB miss the TLB far less often. Plain C++, no Python.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <type_traits>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace recplug {

template <typename T>
class HugeArray {
    static_assert(std::is_trivially_copyable<T>::value, "HugeArray holds plain values");

 public:
    HugeArray() = default;
    HugeArray(const HugeArray&) = delete;
    HugeArray& operator=(const HugeArray&) = delete;
    ~HugeArray() { std::free(data_); }

    // n copies of value (the old content is dropped). Throws std::bad_alloc.
    void assign(size_t n, const T& value) {
        std::free(data_);
        data_ = nullptr;
        size_ = 0;
        if (n == 0) return;
        const size_t bytes = n * sizeof(T);
        if (bytes >= kHugePage) {
            const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
            data_ = static_cast<T*>(std::aligned_alloc(kHugePage, rounded));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
            if (data_ != nullptr) madvise(data_, rounded, MADV_HUGEPAGE);  // a hint: may be ignored
#endif
        } else {
            data_ = static_cast<T*>(std::malloc(bytes));
        }
        if (data_ == nullptr) throw std::bad_alloc();
        size_ = n;
        std::fill(data_, data_ + n, value);
    }

    T* data() { return data_; }
    const T* data() const { return data_; }
    size_t size() const { return size_; }
    T& operator[](size_t i) { return data_[i]; }
    const T& operator[](size_t i) const { return data_[i]; }

 private:
    static constexpr size_t kHugePage = size_t{2} << 20;
    T* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace recplug
