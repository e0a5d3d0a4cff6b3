// libFuzzer target: plan one applet's command line (and the links chained after
// it) from arbitrary words. Planning changes nothing, so any input is safe to run;
// it may look accounts up and search PATH. Compiled once per applet with
// -DFUZZ_APPLET="name".
#include "chain.hpp"
#include "diagnostics.hpp"
#include "registry.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#ifndef FUZZ_APPLET
#error "compile with -DFUZZ_APPLET=\"applet-name\""
#endif

namespace {

// A fixed, small environment: results must not depend on the fuzzing machine's.
char path_variable[] = "PATH=/usr/bin:/bin";
char listen_pid[] = "LISTEN_PID=1";
char* fuzz_environment[] = {path_variable, listen_pid, nullptr};

constexpr std::size_t max_words = 64;

// Words are separated by NUL bytes; argv[0] is the applet's name.
std::vector<std::string> words_of(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> words{FUZZ_APPLET};
    std::string word;
    for (std::size_t i = 0; i < size && words.size() < max_words; ++i) {
        if (data[i] == 0) {
            words.push_back(std::move(word));
            word.clear();
        } else {
            word.push_back(static_cast<char>(data[i]));
        }
    }
    if (words.size() < max_words) words.push_back(std::move(word));
    return words;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const toolkit::AppletInfo* applet = toolkit::find_applet(FUZZ_APPLET);
    if (!applet) std::abort();
    std::vector<std::string> words = words_of(data, size);
    std::vector<char*> argv;
    for (auto& word : words)
        argv.push_back(word.data());
    argv.push_back(nullptr);

    toolkit::Chain chain(fuzz_environment);
    try {
        chain.plan(*applet, std::span<char* const>(argv.data(), argv.size() - 1));
        // A plan that succeeded has found the program that ends the chain.
        if (chain.program_path().empty() || chain.program_argv() == nullptr) std::abort();
    } catch (const toolkit::Failure& failure) {
        // Every refusal carries a documented status and says something.
        int status = failure.status();
        if (status != toolkit::exit_usage && status != toolkit::exit_failure &&
            status != toolkit::exit_cannot_run && status != toolkit::exit_not_found)
            std::abort();
        if (failure.detail().empty()) std::abort();
    } catch (const toolkit::EarlyExit& early) {
        if (early.status != toolkit::exit_success) std::abort();
    }
    // Anything else escaping (std::exception, Boost's errors) would reach
    // std::terminate in the real program: let libFuzzer report it as a crash.
    return 0;
}
