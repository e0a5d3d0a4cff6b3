// The pending environment: what the final execve passes on, shared by in-process links.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace toolkit {

class PendingEnvironment {
  public:
    // Starts as a copy of the pointers in INITIAL (normally environ); the strings are not copied.
    explicit PendingEnvironment(char* const* initial);

    // The value of NAME, or nullptr when it is unset.
    const char* get(std::string_view name) const;
    // A variable that exists keeps its place; a new one goes at the end.
    void set(std::string_view name, std::string_view value);
    void unset(std::string_view name);

    // NAME=value entries followed by a null pointer, ready for execve;
    // valid until the next change.
    char* const* envp() const { return entries_.data(); }
    std::size_t size() const { return entries_.size() - 1; }

  private:
    std::size_t find(std::string_view name) const; // index or size()
    std::vector<char*> entries_;                   // always ends with nullptr
    std::deque<std::string> owned_; // storage for the entries we made (deque: stable addresses)
};

} // namespace toolkit
