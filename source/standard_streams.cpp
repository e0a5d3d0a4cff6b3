// Keeps libstdc++'s standard-stream start-up out of the binary: toolkit never
// uses std::cout and its siblings (all output goes through write(2)).
//
// Before GCC 13, every translation unit that includes <iostream> runs
// std::ios_base::Init at start-up, which builds all eight standard streams and
// their locales. Boost.ProgramOptions' command-line parser is such a unit, so
// every chain link paid for it: about 43,000 instructions per start, and 16 KB
// of the static binary. Defining the constructor here keeps the library's out of
// the link. Should anything ever name a standard stream, it would be linked in
// unconstructed; tests/commands/toolkit.py checks that none is in the binary.
// meson.build adds this file only for a libstdc++ older than 13.
#include <ios>

std::ios_base::Init::Init() {}
std::ios_base::Init::~Init() {}
