#define BOOST_TEST_MODULE access_rules
#include <boost/test/unit_test.hpp>

#include "access_rules.hpp"
#include "accounts.hpp"
#include "diagnostics.hpp"
#include "environment.hpp"

#include "support.hpp"
#include <string>
#include <vector>

using namespace toolkit;
using namespace toolkit::testing;

namespace {

Rule rule_of(std::string_view line) {
    auto rule = parse_rule(line);
    BOOST_TEST_REQUIRE(rule.has_value());
    return *rule;
}

// What is wrong with LINE, as the parser says it.
std::string problem(std::string_view line) {
    Failure failure = failure_of([line] { parse_rule(line); });
    BOOST_TEST(failure.status() == exit_usage);
    BOOST_TEST(failure.subject().empty());
    return failure.detail();
}

Client tcp(const char* address) {
    std::string entry = std::string("TCPREMOTEIP=") + address;
    char proto[] = "PROTO=TCP";
    char* initial[] = {proto, entry.data(), nullptr};
    return client_from_environment(PendingEnvironment(initial));
}

Client unix_client(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
    Client client;
    client.uid = uid;
    client.gid = gid;
    client.groups = std::move(groups);
    return client;
}

bool allows(std::string_view text, const Client& client) {
    return first_match(parse_rules(text, "F"), client).allow;
}

} // namespace

BOOST_AUTO_TEST_CASE(blank_and_comment_lines) {
    BOOST_TEST(!parse_rule("").has_value());
    BOOST_TEST(!parse_rule(" \t\r").has_value());
    BOOST_TEST(!parse_rule("# ip:10.0.0.0/8 allow").has_value());
    BOOST_TEST(!parse_rule("   #x").has_value());
}

BOOST_AUTO_TEST_CASE(rules_and_their_parts) {
    Rule any = rule_of("* allow A=1 B=x=y # comment");
    BOOST_TEST((any.kind == RuleKind::any));
    BOOST_TEST(any.allow);
    BOOST_TEST(any.assignments == "A=1 B=x=y");
    Rule uid = rule_of("\tuid:0x10\tdeny");
    BOOST_TEST((uid.kind == RuleKind::uid));
    BOOST_TEST(uid.id == 16u);
    BOOST_TEST(!uid.allow);
    BOOST_TEST(rule_of("gid:4294967294 allow").id == 4294967294u);
    Rule user = rule_of("user:www-data allow");
    BOOST_TEST((user.kind == RuleKind::user));
    BOOST_TEST(user.name == "www-data");
    BOOST_TEST((rule_of("group:staff allow").kind == RuleKind::group));
}

BOOST_AUTO_TEST_CASE(prefixes) {
    Rule bare = rule_of("ip:10.1.2.3 allow");
    BOOST_TEST(bare.ipv4);
    BOOST_TEST(bare.prefix_length == 32);
    Rule v6 = rule_of("ip:2001:db8::/32 allow");
    BOOST_TEST(!v6.ipv4);
    BOOST_TEST(v6.prefix_length == 32);
    BOOST_TEST(rule_of("ip:::1 allow").prefix_length == 128);
    // A v4-mapped prefix is an IPv4 one.
    Rule mapped = rule_of("ip:::ffff:10.0.0.0/104 allow");
    BOOST_TEST(mapped.ipv4);
    BOOST_TEST(mapped.prefix_length == 8);
    BOOST_TEST(rule_of("ip:0.0.0.0/0 allow").prefix_length == 0);
}

BOOST_AUTO_TEST_CASE(what_is_wrong_with_a_line) {
    BOOST_TEST(problem("*") == "* has no action (allow or deny)");
    BOOST_TEST(problem("* #allow") == "* has no action (allow or deny)");
    BOOST_TEST(problem("* alow") == "unknown action \"alow\" (allow or deny)");
    BOOST_TEST(problem("host:x allow").find("unknown MATCH \"host:x\"") == 0);
    BOOST_TEST(problem("10.0.0.1 allow").find("unknown MATCH") == 0);
    BOOST_TEST(problem("ip:10.0.0.256 allow") == "ip:10.0.0.256: not an IPv4 or IPv6 address");
    BOOST_TEST(problem("ip:10.0.0 allow").find("not an IPv4") != std::string::npos);
    BOOST_TEST(problem("ip:fe80::1%eth0 allow").find("not an IPv4") != std::string::npos);
    BOOST_TEST(problem("ip:10.0.0.0/33 allow").find("from 0 to 32") != std::string::npos);
    BOOST_TEST(problem("ip:::/129 allow").find("from 0 to 128") != std::string::npos);
    BOOST_TEST(problem("ip:10.0.0.0/08 allow").find("prefix length") != std::string::npos);
    BOOST_TEST(problem("ip:10.0.0.0/ allow").find("prefix length") != std::string::npos);
    BOOST_TEST(problem("ip:10.0.0.1/8 allow") ==
               "ip:10.0.0.1/8: the address has bits set after its first 8");
    BOOST_TEST(problem("uid:-1 allow").find("not a number from 0 to 4294967294") !=
               std::string::npos);
    BOOST_TEST(problem("uid:4294967295 allow").find("not a number") != std::string::npos);
    BOOST_TEST(problem("gid:08 allow").find("not a number") != std::string::npos);
    BOOST_TEST(problem("user: allow") == "user: needs a name");
    BOOST_TEST(problem("* allow =x") == "\"=x\" is not a VAR=VALUE assignment");
    BOOST_TEST(problem("* allow X") == "\"X\" is not a VAR=VALUE assignment");
    BOOST_TEST(problem("* allow 1X=y").find("not a variable name") != std::string::npos);
    BOOST_TEST(problem("* deny X=y") == "a deny rule takes no VAR=VALUE assignments");
    BOOST_TEST(problem(std::string_view("user:root\0x allow", 17)) ==
               "a control character in the line");
    BOOST_TEST(problem("* allow\r# ip:10.0.0.1 deny") == "a control character in the line");
}

BOOST_AUTO_TEST_CASE(the_first_match_wins_and_none_is_a_deny) {
    Client alice = unix_client(1000, 100, {100, 27});
    BOOST_TEST(allows("uid:1000 allow\n* deny\n", alice));
    BOOST_TEST(!allows("uid:1000 deny\nuid:1000 allow\n", alice));
    BOOST_TEST(!allows("uid:1001 allow\n", alice));
    BOOST_TEST(!allows("", alice));
    BOOST_TEST(allows("gid:27 allow", alice)); // a supplementary group, no final newline
    BOOST_TEST(allows("gid:100 allow", unix_client(1000, 100)));
    BOOST_TEST(allows("user:root allow", unix_client(0, 5)));
    BOOST_TEST(allows("group:root allow", unix_client(7, 7, {0})));
    auto rules = parse_rules("# c\n\nuid:5 deny\n* allow X=1 Y=2\n", "F");
    Verdict verdict = first_match(rules, alice);
    BOOST_TEST(verdict.allow);
    BOOST_TEST(verdict.line == 4u);
    BOOST_TEST(verdict.assignments == "X=1 Y=2");
}

BOOST_AUTO_TEST_CASE(rules_of_another_protocol_never_match) {
    BOOST_TEST(!allows("ip:0.0.0.0/0 allow\nip:::/0 allow", unix_client(0, 0)));
    BOOST_TEST(
        !allows("uid:0 allow\ngid:0 allow\nuser:root allow\ngroup:root allow", tcp("0.0.0.0")));
    BOOST_TEST(allows("uid:0 deny\n* allow", tcp("0.0.0.0")));
}

BOOST_AUTO_TEST_CASE(addresses_against_prefixes) {
    BOOST_TEST(allows("ip:10.0.0.0/8 allow", tcp("10.255.0.1")));
    BOOST_TEST(!allows("ip:10.0.0.0/8 allow", tcp("11.0.0.1")));
    BOOST_TEST(allows("ip:192.168.4.0/22 allow", tcp("192.168.7.255")));
    BOOST_TEST(!allows("ip:192.168.4.0/22 allow", tcp("192.168.8.0")));
    BOOST_TEST(allows("ip:::1 allow", tcp("::1")));
    BOOST_TEST(!allows("ip:::1 allow", tcp("::2")));
    BOOST_TEST(allows("ip:2001:db8::/33 allow", tcp("2001:db8:7fff::1")));
    BOOST_TEST(!allows("ip:2001:db8::/33 allow", tcp("2001:db8:8000::1")));
    // A v4-mapped client is an IPv4 client, whichever way the rule is written.
    BOOST_TEST(allows("ip:1.2.3.4 allow", tcp("::ffff:1.2.3.4")));
    BOOST_TEST(allows("ip:::ffff:1.2.3.0/120 allow", tcp("1.2.3.99")));
    BOOST_TEST(!allows("ip:::/0 allow", tcp("1.2.3.4")));
    BOOST_TEST(!allows("ip:0.0.0.0/0 allow", tcp("::1")));
    BOOST_TEST(allows("ip:fe80::/10 allow", tcp("fe80::1%eth0")));
}

BOOST_AUTO_TEST_CASE(bad_lines_are_named_by_file_and_line) {
    Failure syntax = failure_of([] { parse_rules("* allow\n\nip:1.2.3 deny\n", "/etc/r"); });
    BOOST_TEST(syntax.status() == exit_usage);
    BOOST_TEST(syntax.subject() == "/etc/r:3");
    BOOST_TEST(syntax.detail() == "ip:1.2.3: not an IPv4 or IPv6 address");
    Failure name = failure_of([] { parse_rules("user:toolkit-no-such-user allow", "F"); });
    BOOST_TEST(name.status() == exit_usage);
    BOOST_TEST(name.subject() == "F:1");
    BOOST_TEST(name.detail() == "no such user \"toolkit-no-such-user\"");
    BOOST_TEST(failure_of([] { parse_rules("group:toolkit-no-such-group allow", "F"); }).detail() ==
               "no such group \"toolkit-no-such-group\"");
}

BOOST_AUTO_TEST_CASE(a_file_is_taken_whole_or_not_at_all) {
    // A bad line after the rule that would match still refuses the whole file,
    // and so does a name that cannot apply to the client (a TCP one here).
    BOOST_TEST(failure_of([] { parse_rules("uid:0 allow\nnonsense\n", "F"); }).subject() == "F:2");
    BOOST_TEST(failure_of([] {
                   parse_rules("* allow\nuser:toolkit-no-such-user allow\n", "F");
               }).subject() == "F:2");
    // The first bad line is the one named.
    BOOST_TEST(failure_of([] { parse_rules("* allow\nuid:x deny\nnonsense\n", "F"); }).subject() ==
               "F:2");
}

BOOST_AUTO_TEST_CASE(a_name_given_again_is_the_same_account) {
    // Each name is looked up once per file: a user and a group of one name
    // (Debian's "games" is uid 5, gid 60) must not share the answer.
    auto user = lookup_account("games");
    auto group = lookup_group("games");
    BOOST_TEST_REQUIRE((user && group && user->uid != *group));
    auto rules = parse_rules("user:games deny\ngroup:games allow\nuser:games allow\n"
                             "group:games deny\n",
                             "F");
    BOOST_TEST_REQUIRE(rules.size() == 4u);
    BOOST_TEST(rules[0].id == user->uid);
    BOOST_TEST(rules[1].id == *group);
    BOOST_TEST(rules[2].id == user->uid);
    BOOST_TEST(rules[3].id == *group);
}

BOOST_AUTO_TEST_CASE(clients_from_the_environment) {
    char proto[] = "PROTO=UNIX", euid[] = "UNIXREMOTEEUID=1000", egid[] = "UNIXREMOTEEGID=100",
         list[] = "UNIXREMOTEGIDLIST=100,27,4294967294";
    char* full[] = {proto, euid, egid, list, nullptr};
    Client client = client_from_environment(PendingEnvironment(full));
    BOOST_TEST((client.protocol == Client::Protocol::unix_socket));
    BOOST_TEST(client.uid == 1000u);
    BOOST_TEST(client.gid == 100u);
    BOOST_TEST((client.groups == std::vector<gid_t>{100, 27, 4294967294u}));
    BOOST_TEST(describe(client) == "UNIX client uid 1000 gid 100");
    char* no_list[] = {proto, euid, egid, nullptr};
    BOOST_TEST(client_from_environment(PendingEnvironment(no_list)).groups.empty());

    auto refused = [](std::vector<std::string> entries) {
        std::vector<char*> pointers;
        for (auto& entry : entries)
            pointers.push_back(entry.data());
        pointers.push_back(nullptr);
        return failure_of([&] { client_from_environment(PendingEnvironment(pointers.data())); })
            .subject();
    };
    BOOST_TEST(refused({}) == "PROTO");
    BOOST_TEST(refused({"PROTO=UDP"}) == "PROTO");
    BOOST_TEST(refused({"PROTO=UNIX", "UNIXREMOTEEGID=1"}) == "UNIXREMOTEEUID");
    BOOST_TEST(refused({"PROTO=UNIX", "UNIXREMOTEEUID=1"}) == "UNIXREMOTEEGID");
    BOOST_TEST(refused({"PROTO=UNIX", "UNIXREMOTEEUID=x", "UNIXREMOTEEGID=1"}) == "UNIXREMOTEEUID");
    BOOST_TEST(refused({"PROTO=UNIX", "UNIXREMOTEEUID=4294967295", "UNIXREMOTEEGID=1"}) ==
               "UNIXREMOTEEUID");
    BOOST_TEST(refused({"PROTO=UNIX", "UNIXREMOTEEUID=1", "UNIXREMOTEEGID=1",
                        "UNIXREMOTEGIDLIST=1,,2"}) == "UNIXREMOTEGIDLIST");
    BOOST_TEST(refused({"PROTO=TCP"}) == "TCPREMOTEIP");
    BOOST_TEST(refused({"PROTO=TCP", "TCPREMOTEIP=1.2.3"}) == "TCPREMOTEIP");
    BOOST_TEST(refused({"PROTO=TCP", "TCPREMOTEIP=localhost"}) == "TCPREMOTEIP");
    BOOST_TEST(describe(tcp("::ffff:10.0.0.1")) == "TCP client 10.0.0.1");
    BOOST_TEST(describe(tcp("2001:db8::1")) == "TCP client 2001:db8::1");
}

BOOST_AUTO_TEST_CASE(assignments_set_variables) {
    char keep[] = "KEEP=1", old[] = "A=old";
    char* initial[] = {keep, old, nullptr};
    PendingEnvironment environment(initial);
    apply_assignments("A=new B= C=x=y", environment);
    BOOST_TEST(std::string(environment.get("A")) == "new");
    BOOST_TEST(std::string(environment.get("B")).empty());
    BOOST_TEST(std::string(environment.get("C")) == "x=y");
    BOOST_TEST(std::string(environment.get("KEEP")) == "1");
}

BOOST_AUTO_TEST_CASE(a_file_read_again_is_the_same_until_it_changes) {
    TempDir directory;
    std::string path = directory.file("rules", "* allow\n", 0644);
    RulesFile first = RulesFile::read(path);
    BOOST_TEST(first.text() == "* allow\n");
    BOOST_TEST(RulesFile::read(path).same_as(first));
    directory.file("rules", "* deny\n", 0644);
    BOOST_TEST(!RulesFile::read(path).same_as(first));
    Failure missing = failure_of([&] { RulesFile::read(directory.path + "/none"); });
    BOOST_TEST(missing.status() == exit_failure);
    BOOST_TEST(missing.subject() == directory.path + "/none");
    Failure not_regular = failure_of([&] { RulesFile::read(directory.path); });
    BOOST_TEST(not_regular.status() == exit_failure);
    BOOST_TEST(not_regular.detail() == "is a directory, not a regular file");
}
