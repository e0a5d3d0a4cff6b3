// toolkit --install [-s] DIRECTORY: one link per applet to the binary, never replacing a stranger.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace toolkit {

// The words after --install: [-s] DIRECTORY. Links the running binary
// (/proc/self/exe) and returns the exit status; see install_links().
int install_command(std::span<char* const> words);

// For every applet, a hard link (SYMBOLIC: a symbolic link) named after it in
// DIRECTORY leading to BINARY. A name that already leads to BINARY is kept;
// anything else there is left alone and reported with an ERROR line. What was
// made or kept is reported on stdout, one line per name. Returns 0 when every
// name was made or kept, 111 otherwise. A DIRECTORY that cannot be used is
// a Failure thrown before anything is made.
int install_links(const std::string& binary, const std::string& directory, bool symbolic);

} // namespace toolkit
