// The pending environment: in-place edits so untouched variables keep their order.
#include "environment.hpp"

#include <cstring>

namespace toolkit {

PendingEnvironment::PendingEnvironment(char* const* initial) {
    if (initial)
        for (char* const* entry = initial; *entry; ++entry)
            entries_.push_back(*entry);
    entries_.push_back(nullptr);
}

std::size_t PendingEnvironment::find(std::string_view name) const {
    for (std::size_t i = 0; i + 1 < entries_.size(); ++i) {
        const char* entry = entries_[i];
        if (std::strncmp(entry, name.data(), name.size()) == 0 && entry[name.size()] == '=')
            return i;
    }
    return size();
}

const char* PendingEnvironment::get(std::string_view name) const {
    std::size_t i = find(name);
    return i == size() ? nullptr : entries_[i] + name.size() + 1;
}

void PendingEnvironment::set(std::string_view name, std::string_view value) {
    std::string& entry = owned_.emplace_back();
    entry.reserve(name.size() + value.size() + 1);
    entry.append(name).append("=").append(value);
    std::size_t i = find(name);
    if (i == size()) {
        entries_.insert(entries_.end() - 1, entry.data());
        return;
    }
    entries_[i] = entry.data();
    // Programs disagree on which duplicate counts (getenv: the first; Python: the
    // last), so an inherited second NAME must not outlive the new value.
    for (std::size_t j = size(); j-- > i + 1;) {
        const char* other = entries_[j];
        if (std::strncmp(other, name.data(), name.size()) == 0 && other[name.size()] == '=')
            entries_.erase(entries_.begin() + static_cast<long>(j));
    }
}

void PendingEnvironment::unset(std::string_view name) {
    for (std::size_t i = find(name); i != size(); i = find(name))
        entries_.erase(entries_.begin() + static_cast<long>(i));
}

} // namespace toolkit
