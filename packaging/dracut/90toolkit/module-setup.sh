#!/bin/bash
# dracut module "toolkit": toolkit and one symbolic link per applet.
#
# Installed inactive; to use it, make it a dracut module and ask for it:
#   ln -s /usr/share/toolkit/dracut/90toolkit /usr/lib/dracut/modules.d/90toolkit
#   dracut --add toolkit ...      (or add_dracutmodules+=" toolkit " in dracut.conf.d)
# TOOLKIT_BINARY names the binary to copy (default /usr/bin/toolkit).

check() {
    require_binaries "${TOOLKIT_BINARY:-/usr/bin/toolkit}" || return 1
    # Only when asked for: nothing in the image needs it by default.
    return 255
}

depends() {
    return 0
}

# initdir, inst_binary, require_binaries and derror come from dracut.
# shellcheck disable=SC2154
install() {
    local toolkit=${TOOLKIT_BINARY:-/usr/bin/toolkit} applets applet
    applets=$("$toolkit" --list) || {
        derror "toolkit: $toolkit --list failed"
        return 1
    }
    # inst_binary also brings the shared libraries of a dynamic build.
    inst_binary "$toolkit" /usr/bin/toolkit || return 1
    for applet in $applets; do
        case $applet in
        */* | .* | -*)
            derror "toolkit: refusing applet name '$applet'"
            return 1
            ;;
        esac
        ln -sfn toolkit "${initdir}/usr/bin/${applet}"
    done
}
