#define BOOST_TEST_MODULE registry
#include <boost/test/unit_test.hpp>

#include "registry.hpp"

#include <set>
#include <string>

using namespace toolkit;

BOOST_AUTO_TEST_CASE(the_table_holds_the_applets) {
    auto applets = all_applets();
    BOOST_TEST_REQUIRE(!applets.empty());
    std::set<std::string_view> names;
    for (const AppletInfo* applet : applets) {
        BOOST_TEST_REQUIRE(applet != nullptr);
        BOOST_TEST(names.insert(applet->syntax.name).second,
                   "listed twice: " << applet->syntax.name);
    }
    BOOST_TEST(names.count("fdmove") == 1u);
    BOOST_TEST(names.count("setuidgid") == 1u);
    BOOST_TEST(names.count("toolkit") == 0u);
}

BOOST_AUTO_TEST_CASE(every_applet_has_a_process_name_of_its_own) {
    std::set<std::string_view> shown;
    for (const AppletInfo* applet : all_applets()) {
        BOOST_TEST_CONTEXT("applet " << applet->syntax.name) {
            std::string_view name = applet->syntax.shown_name();
            BOOST_TEST(!name.empty());
            BOOST_TEST(name.size() <= max_process_name);
            BOOST_TEST(shown.insert(name).second, "process name used twice: " << name);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_applet_is_complete) {
    for (const AppletInfo* applet : all_applets()) {
        const CommandSyntax& syntax = applet->syntax;
        BOOST_TEST_CONTEXT("applet " << syntax.name) {
            BOOST_TEST(applet->plan != nullptr);
            BOOST_TEST(!syntax.name.empty());
            BOOST_TEST(syntax.name.find('/') == std::string_view::npos);
            BOOST_TEST(syntax.synopsis.find("NEXT-PROG") != std::string_view::npos);
            BOOST_TEST(!syntax.summary.empty());
            std::set<std::string_view> long_names;
            std::set<char> short_names;
            for (const OptionSpec& option : syntax.options) {
                BOOST_TEST_CONTEXT("option --" << option.long_name) {
                    BOOST_TEST(!option.long_name.empty());
                    BOOST_TEST(long_names.insert(option.long_name).second);
                    BOOST_TEST(option.long_name != "help");
                    BOOST_TEST(option.long_name != "usage");
                    if (option.short_name != 0) {
                        BOOST_TEST(short_names.insert(option.short_name).second);
                        BOOST_TEST(option.short_name != '?');
                    }
                    BOOST_TEST(option.value_name.empty() == (option.kind == OptionKind::flag));
                    BOOST_TEST(!option.help.empty());
                    if (option.kind == OptionKind::number) BOOST_TEST(option.min <= option.max);
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(find_by_exact_name) {
    const AppletInfo* fdmove = find_applet("fdmove");
    BOOST_TEST_REQUIRE(fdmove != nullptr);
    BOOST_TEST(fdmove->syntax.name == "fdmove");
    const AppletInfo* setuidgid = find_applet("setuidgid");
    BOOST_TEST_REQUIRE(setuidgid != nullptr);
    BOOST_TEST(setuidgid->syntax.name == "setuidgid");
    for (const AppletInfo* applet : all_applets())
        BOOST_TEST(find_applet(applet->syntax.name) == applet);

    for (std::string_view absent :
         {"", "fdmov", "fdmove ", "FDMOVE", "/fdmove", "./fdmove", "toolkit", "fdmovee"})
        BOOST_TEST(find_applet(absent) == nullptr, "found \"" << absent << "\"");
}

BOOST_AUTO_TEST_CASE(nearest_applet_suggests_slips_of_the_fingers) {
    BOOST_TEST(nearest_applet("fdmvoe") == "fdmove");
    BOOST_TEST(nearest_applet("fdmov") == "fdmove");
    BOOST_TEST(nearest_applet("fdmovee") == "fdmove");
    BOOST_TEST(nearest_applet("fdmove") == "fdmove");
    BOOST_TEST(nearest_applet("Fdmove") == "fdmove");
    BOOST_TEST(nearest_applet("setuidgi") == "setuidgid");
    BOOST_TEST(nearest_applet("setgiduid") == "setuidgid");
    BOOST_TEST(nearest_applet("setuid") == "setuidgid"); // a prefix
}

BOOST_AUTO_TEST_CASE(nearest_applet_leaves_nonsense_alone) {
    for (std::string_view nonsense :
         {"nonsense", "", "x", "ls", "cat", "bash", "zzzzzzzzzzzzzzzzzzzzz", "fd"})
        BOOST_TEST(nearest_applet(nonsense).empty(),
                   "suggested " << nearest_applet(nonsense) << " for \"" << nonsense << "\"");
}
