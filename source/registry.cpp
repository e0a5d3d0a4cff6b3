// The applet table: commands/list, turned into declarations and an array by meson.
#include "registry.hpp"

#include <algorithm>
#include <array>
#include <vector>

namespace toolkit::applets {
#define TOOLKIT_APPLET(identifier) extern const AppletInfo identifier;
#include "applets.def"
#undef TOOLKIT_APPLET
} // namespace toolkit::applets

namespace toolkit {

namespace {

const AppletInfo* const table[] = {
#define TOOLKIT_APPLET(identifier) &applets::identifier,
#include "applets.def"
#undef TOOLKIT_APPLET
};

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

} // namespace

std::span<const AppletInfo* const> all_applets() {
    return table;
}

const AppletInfo* find_applet(std::string_view name) {
    for (const AppletInfo* applet : table)
        if (applet->syntax.name == name) return applet;
    return nullptr;
}

std::string_view nearest_applet(std::string_view name) {
    std::string_view best;
    std::size_t best_distance = 0;
    for (const AppletInfo* applet : table) {
        std::string_view candidate = applet->syntax.name;
        std::size_t distance = edit_distance(name, candidate);
        // A name cut short is the likeliest slip: "setuid" means setuidgid, not setsid.
        if (candidate.starts_with(name) && name.size() >= 3) distance = 0;
        if (best.empty() || distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    // Suggest only what looks like a slip of the fingers.
    return best_distance <= std::max<std::size_t>(2, name.size() / 4) ? best : std::string_view();
}

} // namespace toolkit
