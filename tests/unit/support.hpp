// What several unit tests need: the Failure a piece of code throws, and a scratch directory.
#pragma once

#include "diagnostics.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fcntl.h>
#include <initializer_list>
#include <span>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace toolkit::testing {

// The Failure BODY throws; the test fails when it throws none.
template <typename Body> Failure failure_of(Body body) {
    try {
        body();
    } catch (const Failure& failure) {
        return failure;
    }
    BOOST_FAIL("no failure was thrown");
    return Failure(0, "", "");
}

// An argv that owns its strings: span() is the words, and a null pointer follows them.
struct Args {
    Args(std::initializer_list<std::string> words) : strings(words) {
        for (auto& s : strings)
            pointers.push_back(s.data());
        pointers.push_back(nullptr);
    }
    std::span<char* const> span() const { return {pointers.data(), pointers.size() - 1}; }
    std::vector<std::string> strings;
    std::vector<char*> pointers;
};

// A fresh private directory, removed with what is in it.
struct TempDir {
    TempDir() {
        char name[] = "/tmp/toolkit-unit-test.XXXXXX";
        BOOST_TEST_REQUIRE(::mkdtemp(name) != nullptr);
        path = name;
    }
    ~TempDir() {
        std::string command = "rm -rf '" + path + "'";
        if (std::system(command.c_str()) != 0) BOOST_TEST_MESSAGE("could not remove " << path);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string file(const std::string& name, const std::string& content, mode_t mode) const {
        std::string full = path + "/" + name;
        int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        BOOST_TEST_REQUIRE(fd >= 0);
        BOOST_TEST_REQUIRE(::write(fd, content.data(), content.size()) ==
                           static_cast<ssize_t>(content.size()));
        ::close(fd);
        BOOST_TEST_REQUIRE(::chmod(full.c_str(), mode) == 0);
        return full;
    }
    std::string directory(const std::string& name) const {
        std::string full = path + "/" + name;
        BOOST_TEST_REQUIRE(::mkdir(full.c_str(), 0755) == 0);
        return full;
    }
    std::string path;
};

} // namespace toolkit::testing
