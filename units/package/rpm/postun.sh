# %postun of the podup .rpm ($1: 0 on erase, 1 on upgrade), as
# %systemd_postun_with_restart: a podup serving during an upgrade is restarted on the
# new binary (try-restart: what is not running stays stopped). An erase keeps the state
# database in /var/lib/podup unless PODUP_PURGE_STATE=1 is in rpm's environment, and
# says which it did.
STATE=/var/lib/podup
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart podup.service || :
    fi
fi
if [ "$1" -eq 0 ]; then
    if [ "${PODUP_PURGE_STATE:-0}" = 1 ]; then
        rm -rf "$STATE"
        echo "podup: removed $STATE (PODUP_PURGE_STATE=1)"
    elif [ -e "$STATE" ]; then
        echo "podup: kept $STATE (the task and event database); remove it with 'rm -rf $STATE', or erase with PODUP_PURGE_STATE=1"
    fi
fi
