#define BOOST_TEST_MODULE environment
#include <boost/test/unit_test.hpp>

#include "environment.hpp"

#include <string>
#include <vector>

using namespace toolkit;

namespace {

// The entries of ENVP up to its null pointer.
std::vector<std::string> entries(const PendingEnvironment& environment) {
    std::vector<std::string> list;
    char* const* envp = environment.envp();
    for (std::size_t i = 0; envp[i] && i < 10000; ++i)
        list.emplace_back(envp[i]);
    return list;
}

// A writable environ-like array that outlives the PendingEnvironment built from it.
struct Initial {
    explicit Initial(std::vector<std::string> values) : strings(std::move(values)) {
        for (auto& s : strings)
            pointers.push_back(s.data());
        pointers.push_back(nullptr);
    }
    char* const* get() { return pointers.data(); }
    std::vector<std::string> strings;
    std::vector<char*> pointers;
};

std::string variable(int i) {
    std::string name = "V";
    name.append(std::to_string(i));
    return name;
}

} // namespace

BOOST_AUTO_TEST_CASE(starts_as_the_initial_list_in_order) {
    Initial initial({"PATH=/bin", "HOME=/root", "A=1", "EMPTY=", "B=x=y"});
    PendingEnvironment environment(initial.get());
    BOOST_TEST(environment.size() == 5u);
    BOOST_TEST(entries(environment) == initial.strings, boost::test_tools::per_element());
    BOOST_TEST(environment.envp()[5] == nullptr);
}

BOOST_AUTO_TEST_CASE(null_or_empty_initial_list) {
    PendingEnvironment none(nullptr);
    BOOST_TEST(none.size() == 0u);
    BOOST_TEST_REQUIRE(none.envp() != nullptr);
    BOOST_TEST(none.envp()[0] == nullptr);
    BOOST_TEST(none.get("PATH") == nullptr);

    Initial empty({});
    PendingEnvironment also_none(empty.get());
    BOOST_TEST(also_none.size() == 0u);
    BOOST_TEST(also_none.envp()[0] == nullptr);
}

BOOST_AUTO_TEST_CASE(get_matches_whole_names) {
    Initial initial({"AB=long", "A=short", "EMPTY=", "B=x=y", "NOEQUALS"});
    PendingEnvironment environment(initial.get());
    BOOST_TEST_REQUIRE(environment.get("A") != nullptr);
    BOOST_TEST(std::string(environment.get("A")) == "short");
    BOOST_TEST(std::string(environment.get("AB")) == "long");
    BOOST_TEST(std::string(environment.get("EMPTY")) == "");
    BOOST_TEST(std::string(environment.get("B")) == "x=y");
    BOOST_TEST(environment.get("ABC") == nullptr);
    BOOST_TEST(environment.get("NOEQUALS") == nullptr);
    BOOST_TEST(environment.get("a") == nullptr); // names are case-sensitive
}

BOOST_AUTO_TEST_CASE(set_replaces_in_place) {
    Initial initial({"A=1", "B=2", "C=3"});
    PendingEnvironment environment(initial.get());
    environment.set("B", "two");
    BOOST_TEST(entries(environment) == (std::vector<std::string>{"A=1", "B=two", "C=3"}),
               boost::test_tools::per_element());
    BOOST_TEST(std::string(environment.get("B")) == "two");
    BOOST_TEST(environment.size() == 3u);
    // The initial strings are not written to.
    BOOST_TEST(initial.strings[1] == "B=2");
}

BOOST_AUTO_TEST_CASE(set_appends_a_new_variable) {
    Initial initial({"A=1", "B=2"});
    PendingEnvironment environment(initial.get());
    environment.set("NEW", "value");
    environment.set("EMPTY", "");
    environment.set("A", "again");
    BOOST_TEST(entries(environment) ==
                   (std::vector<std::string>{"A=again", "B=2", "NEW=value", "EMPTY="}),
               boost::test_tools::per_element());
    BOOST_TEST(environment.envp()[environment.size()] == nullptr);
}

BOOST_AUTO_TEST_CASE(values_we_set_stay_valid) {
    PendingEnvironment environment(nullptr);
    environment.set("FIRST", "1");
    // Many more changes must not move or overwrite what the first entries point to.
    for (int i = 0; i < 2000; ++i)
        environment.set(variable(i), std::string(100, 'x'));
    for (int i = 0; i < 2000; i += 2)
        environment.set(variable(i), "changed");
    BOOST_TEST(environment.size() == 2001u);
    BOOST_TEST(std::string(environment.envp()[0]) == "FIRST=1");
    BOOST_TEST(std::string(environment.get("V1998")) == "changed");
    BOOST_TEST(std::string(environment.get("V1999")) == std::string(100, 'x'));
}

BOOST_AUTO_TEST_CASE(unset_removes_every_copy) {
    Initial initial({"A=1", "B=2", "A=3", "C=4", "A=5", "AA=6"});
    PendingEnvironment environment(initial.get());
    BOOST_TEST(std::string(environment.get("A")) == "1"); // the first, as getenv
    environment.unset("A");
    BOOST_TEST(environment.get("A") == nullptr);
    BOOST_TEST(entries(environment) == (std::vector<std::string>{"B=2", "C=4", "AA=6"}),
               boost::test_tools::per_element());
    environment.unset("MISSING");
    BOOST_TEST(environment.size() == 3u);
    environment.unset("C");
    environment.unset("B");
    environment.unset("AA");
    BOOST_TEST(environment.size() == 0u);
    BOOST_TEST(environment.envp()[0] == nullptr);
}

BOOST_AUTO_TEST_CASE(set_after_unset_goes_to_the_end) {
    Initial initial({"A=1", "B=2", "C=3"});
    PendingEnvironment environment(initial.get());
    environment.unset("A");
    environment.set("A", "back");
    BOOST_TEST(entries(environment) == (std::vector<std::string>{"B=2", "C=3", "A=back"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(set_leaves_exactly_one_entry) {
    // Programs disagree on which of two entries counts (getenv takes the first,
    // Python's os.environ the last): after set, there must be only the new one.
    Initial initial({"A=1", "B=2", "A=3"});
    PendingEnvironment environment(initial.get());
    environment.set("A", "x");
    BOOST_TEST(entries(environment) == (std::vector<std::string>{"A=x", "B=2"}),
               boost::test_tools::per_element());
    BOOST_TEST(std::string(environment.get("A")) == "x");
}
