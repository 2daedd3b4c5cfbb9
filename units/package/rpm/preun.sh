# %preun of the podup .rpm ($1: 0 on erase, 1 on upgrade), as %systemd_preun: on erase
# the units are stopped when active and disabled. An upgrade stops nothing.
UNITS="podup.socket podup-cgi.socket podup-auto-update.timer podup-recover.service"
if [ "$1" -eq 0 ]; then
    if [ -d /run/systemd/system ]; then
        systemctl stop $UNITS podup.service podup-auto-update.service 'podup-cgi@*.service' || :
    fi
    systemctl --no-reload disable $UNITS >/dev/null 2>&1 || :
    systemctl --global --no-reload disable $UNITS >/dev/null 2>&1 || :
fi
