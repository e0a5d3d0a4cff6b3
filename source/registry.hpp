// The applet table, generated from commands/list.
#pragma once

#include "applet.hpp"

#include <span>
#include <string_view>

namespace toolkit {

std::span<const AppletInfo* const> all_applets();
const AppletInfo* find_applet(std::string_view name);
// The applet whose name is nearest to NAME (for "did you mean"), or empty.
std::string_view nearest_applet(std::string_view name);

} // namespace toolkit
