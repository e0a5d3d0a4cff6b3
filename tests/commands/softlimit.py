"""End-to-end tests of softlimit: the limits the next program gets, compared
with daemontools' softlimit, s6-softlimit and runit's chpst; values above the
hard limit are capped (with a warning under -v); "="; bad options and numbers."""

import resource

from harness import USAGE, applet_link, main, run
from process_state import StateTestCase, peer, state

SOFT, HARD = resource.getrlimit(resource.RLIMIT_NOFILE)


def limits(output):
    return [line for line in output.splitlines() if line.startswith("limit ")]


class Limits(StateTestCase):
    def compare(self, tool, options):
        ours = run([applet_link("softlimit")] + options + state("limits"))
        theirs = run([peer(tool)] + options + state("limits"))
        self.assertEqual((ours.returncode, ours.stderr), (0, ""))
        self.assertEqual(limits(ours.stdout), limits(theirs.stdout))
        return ours

    def test_same_as_daemontools(self):
        for options in (["-m", "64000000"], ["-o", "100", "-c", "0", "-f", "1000000"],
                        ["-p", "500", "-t", "60", "-r", "10000000", "-l", "65536"],
                        ["-a", "200000000", "-d", "100000000", "-s", "1000000"],
                        ["-o", "="], ["-o", str(HARD + 1000)]):
            with self.subTest(options=options):
                self.compare("softlimit", options)

    def test_same_as_s6_softlimit(self):
        for options in (["-m", "64000000"], ["-o", "100", "-c", "0"], ["-o", "="]):
            with self.subTest(options=options):
                self.compare("s6-softlimit", options)

    def test_same_as_chpst(self):
        # chpst's -m -o -p -f -c are the options of the same letters here; it has no "=".
        for options in (["-m", "64000000"], ["-o", "100"], ["-p", "500"], ["-f", "1000000"], ["-c", "0"],
                        ["-m", "32000000", "-o", "50", "-p", "100", "-f", "4096", "-c", "1024"],
                        ["-o", str(HARD + 1000)]):
            with self.subTest(options=options):
                self.compare("chpst", options)

    def test_memory_covers_four_resources(self):
        result = self.case("softlimit", ["-m", "64000000"] + state("limits"))[0]
        for name in ("RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_MEMLOCK"):
            hard = resource.getrlimit(getattr(resource, name))[1]
            wanted = 64000000 if hard == resource.RLIM_INFINITY else min(64000000, hard)
            self.assertRegex(result.stdout, rf"limit {name} \({wanted}, ")
        self.assertNotRegex(result.stdout, r"limit RLIMIT_NOFILE \(64000000")

    def test_a_resource_of_its_own_wins_over_memory(self):
        for options in (["-m", "64000000", "-d", "32000000"], ["-d", "32000000", "-m", "64000000"]):
            with self.subTest(options=options):
                result = self.case("softlimit", options + state("limits"))[0]
                self.assertRegex(result.stdout, r"limit RLIMIT_DATA \(32000000, ")
                self.assertRegex(result.stdout, r"limit RLIMIT_STACK \(64000000, ")

    def test_long_options_and_c_numbers(self):
        result = self.case("softlimit", ["--open-files", "0x40", "--core=0", "--cpu-time", "010"]
                           + state("limits"))[0]
        self.assertIn(f"limit RLIMIT_NOFILE (64, {HARD})", result.stdout)
        self.assertRegex(result.stdout, r"limit RLIMIT_CORE \(0, ")
        self.assertRegex(result.stdout, r"limit RLIMIT_CPU \(8, ")

    def test_equals_is_the_hard_limit(self):
        result = self.case("softlimit", ["-o", "="] + state("limits"),
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (50, HARD)))[0]
        self.assertIn(f"limit RLIMIT_NOFILE ({HARD}, {HARD})", result.stdout)

    def test_above_the_hard_limit_is_capped_quietly(self):
        result = self.case("softlimit", ["-o", str(HARD + 1)] + state("limits"))[0]
        self.assertIn(f"limit RLIMIT_NOFILE ({HARD}, {HARD})", result.stdout)

    def test_above_the_hard_limit_with_verbose_warns(self):
        line = f"softlimit: WARNING: -o: {HARD + 1} is above the hard limit; set to {HARD}\n"
        for verbose in ("-v", "--verbose"):
            with self.subTest(option=verbose):
                result = self.case("softlimit", [verbose, "-o", str(HARD + 1)] + state("limits"),
                                   stderr=line)[0]
                self.assertIn(f"limit RLIMIT_NOFILE ({HARD}, {HARD})", result.stdout)
        # Within the hard limit, -v says nothing.
        self.case("softlimit", ["-v", "-o", "10", "true"])

    def test_hard_limits_are_left_alone(self):
        result = self.case("softlimit", ["-o", "10"] + state("limits"))[0]
        self.assertIn(f"limit RLIMIT_NOFILE (10, {HARD})", result.stdout)

    def test_no_options_changes_nothing(self):
        self.case("softlimit", state("limits"), stdout=run(state("limits")).stdout)


class UsageErrors(StateTestCase):
    def test_bad_values(self):
        for value in ("", "x", "10k", "-1", " 5", "=5", "==", "18446744073709551616", "1.5"):
            with self.subTest(value=value):
                self.case("softlimit", ["-o", value, "true"], status=USAGE, fatal="-o")

    def test_unknown_resource(self):
        self.case("softlimit", ["-z", "10", "true"], status=USAGE, fatal=("-z", "unknown option"))
        self.case("softlimit", ["--nofile", "10", "true"], status=USAGE, fatal="unknown option")

    def test_missing_value_and_next_program(self):
        self.case("softlimit", ["-o"], status=USAGE, fatal="needs a value")
        self.case("softlimit", ["-o", "10"], status=USAGE, fatal="missing next program")

    def test_bad_value_stops_the_chain_before_it_acts(self):
        self.assertStopsBeforeListen(["softlimit", "-m", "lots", "true"], USAGE, "-m", "lots")


if __name__ == "__main__":
    main()
